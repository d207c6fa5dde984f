// Fuzzing what a remote party sends, with fast-check: the apply body (JSON and YAML, through the real
// API in-process), Dayu's objects through the translators, every sync message decoder (traffic
// reports, upgrade orders, packed plans, beats and sacks included), the node request decoder (logs, metrics, exec),
// the dashboard's watch signal, the exec session's WebSocket messages, the relay handshake lines, the
// tunnel preamble and the artifact answer, the mesh catalog and the
// Kubernetes API's bodies and query strings. Each case must end (a hang fails it), never throw, and a refusal must be a 4xx with
// the path of what was wrong — never a 500. Bounded in `npm test`; LEVEE_FUZZ_RUNS=N for more.
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { parseSaveManifest, TarManifestScanner } from "../../src/cloud/image-tar.ts";
import { parseManifests } from "../../src/manifest/manifest.ts";
import { parseCatalog } from "../../src/mesh/catalog/schema.ts";
import {
  formatAnswer,
  parseAnswer as parseArtifactAnswer,
} from "../../src/mesh/transport/artifact-answer.ts";
import { formatPreamble, parsePreamble } from "../../src/mesh/transport/preamble.ts";
import { parseAnswer, parseChallenge, verifyRequestLine } from "../../src/mesh/transport/relay-protocol.ts";
import { decodeMessage as decodeExecMessage } from "../../src/protocol/exec-session.ts";
import { decodeLogRequest } from "../../src/protocol/log-request.ts";
import { decodeMessage, newMessage, type PlanPacked } from "../../src/protocol/messages.ts";
import { unpackPlan } from "../../src/protocol/plan-packing.ts";
import { parseWatchSignal, watchSignalSchema } from "../../src/protocol/traffic.ts";
import { binarySignatureProblem, compareVersions } from "../../src/protocol/upgrade.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { inProcessKubeApi } from "../harness/kube.ts";
import { fuzzParameters } from "./fuzz-runs.ts";

const { store, app, plane } = inProcessCloud();
registeredNode(store, "edge1");
afterAll(() => store.close());

/** Arbitrary JSON values, some shaped like manifests (apiVersion, kind, metadata, spec). */
const json = fc.jsonValue({ maxDepth: 6 });
const manifestLike = fc.record(
  {
    apiVersion: fc.constantFrom("levee/v1", "sedna.io/v1alpha1", "v1", "x"),
    kind: fc.constantFrom(
      "Service",
      "Config",
      "Node",
      "ImageMap",
      "Namespace",
      "Grant",
      "JointMultiEdgeService",
      "RuntimeService",
      "Pod",
    ),
    metadata: fc.record(
      {
        name: fc.oneof(fc.constantFrom("a", "edge1", "x-y"), fc.string()),
        namespace: fc.option(fc.string(), { nil: undefined }),
      },
      { requiredKeys: [] },
    ),
    spec: json,
  },
  { requiredKeys: ["kind"] },
);

/** A 4xx answer carries an error; a 400 of a manifest names where (issues with a path). */
function checkRefusal(status: number, body: { error?: string; issues?: { path: string }[] }): void {
  expect(status).toBeLessThan(500);
  if (status >= 400) {
    expect(typeof body.error).toBe("string");
    if (status === 400 && body.issues)
      for (const issue of body.issues) expect(typeof issue.path).toBe("string");
  }
}

describe("the apply body", () => {
  test("JSON objects shaped like manifests: 200 or a 4xx with the path, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(manifestLike, { maxLength: 3 }), async (objects) => {
        const res = await app.request("/api/v1/apply", {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(objects),
        });
        checkRefusal(res.status, (await res.json()) as never);
      }),
      fuzzParameters(150),
    );
  }, 120_000);

  test("any text as YAML: never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: "binary", maxLength: 400 })),
        async (text) => {
          const res = await app.request("/api/v1/apply", {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/yaml" },
            body: `apiVersion: levee/v1\nkind: Service\n${text}`,
          });
          checkRefusal(res.status, (await res.json()) as never);
        },
      ),
      fuzzParameters(200),
    );
  }, 120_000);

  test("Dayu objects with arbitrary specs: the translators answer with issues, never throw", () => {
    fc.assert(
      fc.property(
        fc.record({
          edgeWorker: fc.option(fc.array(json, { maxLength: 3 }), { nil: undefined }),
          cloudWorker: fc.option(json, { nil: undefined }),
          serviceConfig: fc.option(json, { nil: undefined }),
          podTemplate: fc.option(json, { nil: undefined }),
          targetNode: fc.option(fc.string(), { nil: undefined }),
        }),
        fc.constantFrom("JointMultiEdgeService", "RuntimeService"),
        (spec, kind) => {
          const result = parseManifests(
            JSON.stringify({
              apiVersion: "sedna.io/v1alpha1",
              kind,
              metadata: { name: "x", namespace: "dayu" },
              spec,
            }),
            "application/json",
          );
          if (!result.ok) for (const issue of result.issues) expect(typeof issue.path).toBe("string");
        },
      ),
      fuzzParameters(300),
    );
  });
});

/** A plan key for the binary signature property (any Ed25519 public key). */
const KEY = (() => {
  const { publicKey } = generateKeyPairSync("ed25519");
  return { publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(), keyId: "k" };
})();

describe("the sync protocol's decoders", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    json.map((v) => new TextEncoder().encode(JSON.stringify(v))),
    fc
      .record(
        {
          v: fc.constantFrom(1, 2, "1"),
          type: fc.constantFrom(
            "plan",
            "status",
            "ack",
            "heartbeat",
            "hello",
            "welcome",
            "routes",
            "staging",
            "beat",
            "sack",
            "x",
          ),
          node: fc.constantFrom("edge1", "edge2"),
          seq: fc.integer(),
          body: json,
        },
        { requiredKeys: [] },
      )
      .map((v) => new TextEncoder().encode(JSON.stringify(v))),
  );

  test("decodeMessage: every payload is a message or a reason, on every channel", () => {
    fc.assert(
      fc.property(bytes, fc.constantFrom(undefined, "up", "down", "presence"), (payload, channel) => {
        const decoded = decodeMessage("edge1", payload, channel as never);
        if (!decoded.ok) expect(typeof decoded.reason).toBe("string");
        else expect(decoded.msg.node).toBe("edge1");
      }),
      fuzzParameters(1000),
    );
  });

  test("decodeMessage: beats and sacks (no node on the wire) of any shape take the topic's node, on their channel only", () => {
    const compact = fc.record(
      {
        v: fc.constantFrom(1, 2),
        type: fc.constantFrom("beat", "sack"),
        node: fc.oneof(fc.constantFrom("edge1", "edge2", ""), json),
        s: fc.oneof(fc.integer(), fc.double(), json),
        e: fc.oneof(fc.string({ maxLength: 10 }), json),
        r: fc.oneof(fc.integer(), json),
      },
      { requiredKeys: ["type"] },
    );
    fc.assert(
      fc.property(compact, fc.constantFrom(undefined, "up", "down", "presence"), (value, channel) => {
        const decoded = decodeMessage(
          "edge1",
          new TextEncoder().encode(JSON.stringify(value)),
          channel as never,
        );
        if (!decoded.ok) return expect(typeof decoded.reason).toBe("string");
        expect(decoded.msg.node).toBe("edge1");
        if (decoded.msg.type === "sack") {
          expect(channel === undefined || channel === "down").toBe(true);
          expect(Number.isInteger(decoded.msg.s) && decoded.msg.s >= 1).toBe(true);
        } else expect(channel === undefined || channel === "up").toBe(true);
      }),
      fuzzParameters(1000),
    );
  });

  test("decodeMessage: staging reports of any shape are a message or a reason, never more than bounded", () => {
    const entry = fc.record(
      {
        service: fc.oneof(fc.constantFrom("svc", ""), json),
        generation: fc.oneof(fc.integer(), json),
        fetched: fc.oneof(fc.nat(), fc.integer(), json),
        total: fc.oneof(fc.nat(), json),
        state: fc.constantFrom("fetching", "ready", "failed", "done", 1),
        message: fc.oneof(fc.string(), json),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.constantFrom("edge1", "edge2"), (services, node) => {
        const payload = new TextEncoder().encode(
          JSON.stringify({ v: 1, type: "staging", node, id: "i", ts: "t", services }),
        );
        const decoded = decodeMessage("edge1", payload, "up");
        if (!decoded.ok) expect(typeof decoded.reason).toBe("string");
        else if (decoded.msg.type === "staging")
          for (const s of decoded.msg.services) expect(s.fetched).toBeGreaterThanOrEqual(0);
      }),
      fuzzParameters(1000),
    );
  });

  test("upgrade orders and reports: never throw; an accepted order's binaries fit their schema", () => {
    const near = fc.record(
      {
        v: fc.constantFrom(1, 2),
        node: fc.constantFrom("edge1", "edge2"),
        id: fc.string({ maxLength: 4 }),
        ts: fc.string({ maxLength: 4 }),
        type: fc.constantFrom("upgrade", "upgrade-report"),
        format: fc.constantFrom(1, 2, "1"),
        rollout: fc.string({ maxLength: 80 }),
        version: fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom("1.2.3", "0.1.0-rc.1")),
        allowDowngrade: fc.oneof(fc.boolean(), json),
        timeoutSeconds: fc.integer({ min: -10, max: 5000 }),
        keyId: fc.string({ maxLength: 70 }),
        state: fc.constantFrom("done", "failed", "x", "waiting-for-health"),
        from: fc.string({ maxLength: 70 }),
        to: fc.string({ maxLength: 70 }),
        reason: fc.string({ maxLength: 40 }),
        binaries: fc.array(
          fc.record(
            {
              target: fc.constantFrom("linux-x64", "linux-arm64", "A/B", ""),
              sha256: fc.oneof(fc.string({ maxLength: 70 }), fc.constant("a".repeat(64))),
              size: fc.oneof(fc.integer(), fc.double(), json),
              signature: fc.string({ maxLength: 300 }),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 20 },
        ),
      },
      { requiredKeys: ["v", "type", "node"] },
    );
    fc.assert(
      fc.property(near, fc.constantFrom(undefined, "up", "down"), (value, channel) => {
        const decoded = decodeMessage(
          "edge1",
          new TextEncoder().encode(JSON.stringify(value)),
          channel as never,
        );
        if (decoded.ok && decoded.msg.type === "upgrade") {
          for (const b of decoded.msg.binaries) expect(b.sha256).toMatch(/^[0-9a-f]{64}$/);
          const [first] = decoded.msg.binaries;
          if (first)
            binarySignatureProblem(
              KEY,
              decoded.msg.keyId,
              { ...first, version: decoded.msg.version },
              first.signature,
            );
        }
        if (typeof value.version === "string" && typeof value.from === "string")
          compareVersions(value.version, value.from);
      }),
      fuzzParameters(1000),
    );
  });

  test("packed plans: any deflated body or delta expands within bounds or is refused, never throws", () => {
    const deflated = fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString("base64")),
      json.map((v) => deflateRawSync(Buffer.from(JSON.stringify(v) ?? "null")).toString("base64")),
    );
    const step = fc.oneof(fc.string({ maxLength: 4 }), fc.nat(4));
    const delta = fc.oneof(
      json,
      fc.array(
        fc.oneof(
          fc.tuple(fc.array(step, { maxLength: 4 }), json),
          fc.tuple(fc.array(step, { maxLength: 4 })),
        ),
      ),
    );
    const body = fc.record(
      {
        base: fc.record({ revision: fc.nat(3), hash: fc.constantFrom("hash", "h", "") }),
        deflated,
        delta,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(body, json, (extra, stored) => {
        const msg = newMessage("edge1", {
          type: "plan-packed",
          epoch: "e",
          revision: 4,
          hash: "h4",
          ...extra,
        }) as PlanPacked;
        const base = typeof stored === "object" && stored !== null && !Array.isArray(stored) ? stored : {};
        const result = unpackPlan(msg, () => ({ epoch: "e", revision: 1, hash: "hash", plan: base }));
        if (!result.ok) expect(typeof result.detail).toBe("string");
        else expect(typeof result.msg.plan).toBe("object");
      }),
      fuzzParameters(1000),
    );
  });

  test("decodeLogRequest and parseCatalog: never throw", () => {
    fc.assert(
      fc.property(bytes, (payload) => {
        decodeLogRequest("edge1", payload);
        const result = parseCatalog(new TextDecoder().decode(payload));
        if (!result.ok) expect(typeof result.reason).toBe("string");
      }),
      fuzzParameters(1000),
    );
  });

  test("the dashboard's watch signal and exec session messages: never throw; anything accepted fits its schema", () => {
    const controlLike = fc.record(
      {
        v: fc.oneof(fc.constant(1), json),
        type: fc.constantFrom("start", "stdin-end", "resize", "exit", "error", "x"),
        rows: fc.oneof(fc.integer(), json),
        cols: fc.oneof(fc.integer(), json),
        code: fc.oneof(fc.integer(), json),
        status: fc.oneof(fc.integer(), json),
        error: json,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(bytes, controlLike, fc.string(), (payload, control, text) => {
        const watch = parseWatchSignal(Buffer.from(payload));
        if (watch.ok) expect(watchSignalSchema.safeParse(watch.signal).success).toBe(true);
        else expect(typeof watch.reason).toBe("string");
        for (const message of [payload, JSON.stringify(control), text]) {
          const decoded = decodeExecMessage(message);
          if (!decoded.ok) expect(typeof decoded.reason).toBe("string");
        }
      }),
      fuzzParameters(1000),
    );
  });

  test("the relay handshake lines: never throw, never accept garbage", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (line) => {
        parseChallenge(line);
        parseAnswer(line);
        const verified = verifyRequestLine(line, { nonce: "bm9uY2U=", relay: "cloud" }, "not a ca");
        expect(verified.ok).toBe(false);
      }),
      fuzzParameters(1000),
    );
  });

  test("the tunnel preamble and the artifact answer: never throw; what is accepted formats back the same", () => {
    const sha = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 });
    const line = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .tuple(sha, fc.oneof(fc.nat(), fc.string({ maxLength: 20 })))
        .map(([s, r]) => `LEVEE-TUNNEL/1 artifact=${s} range=${r}-`),
      fc
        .tuple(fc.constantFrom("ok", "busy", "not-found", "unsatisfiable", "x"), fc.string({ maxLength: 20 }))
        .map(([k, n]) => `LEVEE-ARTIFACT/1 ${k} size=${n}`),
    );
    fc.assert(
      fc.property(line, (text) => {
        const preamble = parsePreamble(text);
        if (preamble.ok) expect(formatPreamble(preamble.preamble)).toBe(`${text}\n`);
        const answer = parseArtifactAnswer(text);
        if (answer.ok) expect(formatAnswer(answer.answer)).toBe(`${text}\n`);
      }),
      fuzzParameters(1000),
    );
  });
});

describe("an image upload (docker save tarball)", () => {
  test("the tar scanner and the manifest parse: any bytes in any chunks never throw; an answer or a reason", () => {
    const header = (name: string, size: string) => {
      const block = new Uint8Array(512);
      block.set(new TextEncoder().encode(name), 0);
      block.set(new TextEncoder().encode(size), 124);
      return block;
    };
    const tarLike = fc
      .tuple(
        fc.constantFrom("manifest.json", "x.json", ""),
        fc.string({ maxLength: 12 }),
        fc.uint8Array({ maxLength: 1500 }),
      )
      .map(([name, size, rest]) => new Uint8Array([...header(name, size), ...rest]));
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 3000 }), tarLike),
        fc.integer({ min: 1, max: 700 }),
        (bytes, chunk) => {
          const scanner = new TarManifestScanner();
          for (let at = 0; at < bytes.length; at += chunk) scanner.push(bytes.subarray(at, at + chunk));
          const found = scanner.result();
          if ("error" in found) expect(typeof found.error).toBe("string");
          else {
            const images = parseSaveManifest(found.manifest);
            if ("error" in images) expect(typeof images.error).toBe("string");
            else expect(Array.isArray(images)).toBe(true);
          }
          const direct = parseSaveManifest(bytes);
          expect("error" in direct || Array.isArray(direct)).toBe(true);
        },
      ),
      fuzzParameters(1000),
    );
  });
});

describe("the Kubernetes API", () => {
  const { kube, app: kubeApp } = inProcessKubeApi(store, plane);
  afterAll(() => kube.close());
  const paths = fc.constantFrom(
    "/api/v1/namespaces/dayu/pods",
    "/api/v1/namespaces",
    "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices",
    "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices/x",
    "/api/v1/namespaces/dayu/serviceaccounts",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/b",
  );
  const query = fc.dictionary(
    fc.constantFrom("labelSelector", "fieldSelector", "limit", "watch", "resourceVersion", "timeoutSeconds"),
    fc.string({ maxLength: 40 }),
    { maxKeys: 3 },
  );

  test("arbitrary bodies, methods and query strings: a Status 4xx or a success, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"),
        paths,
        query,
        fc.oneof(manifestLike, json, fc.string({ maxLength: 200 })),
        fc.constantFrom("application/json", "application/merge-patch+json", "application/json-patch+json"),
        async (method, path, params, body, type) => {
          // A watch would stay open: its query is fuzzed on lists only.
          const { watch: _w, ...rest } = params;
          const search = new URLSearchParams(method === "GET" ? rest : params).toString();
          const res = await kubeApp.request(`${path}${search ? `?${search}` : ""}`, {
            method,
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": type },
            ...(method === "GET" || method === "DELETE"
              ? {}
              : { body: typeof body === "string" ? body : JSON.stringify(body) }),
          });
          expect(res.status).toBeLessThan(500);
          const answer = (await res.json()) as { kind?: string; reason?: string };
          if (res.status >= 400) expect(answer).toMatchObject({ kind: "Status" });
        },
      ),
      fuzzParameters(300),
    );
  }, 120_000);
});
