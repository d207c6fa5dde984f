// Fuzzing what a remote party sends, with fast-check: the apply body (JSON and YAML, through the real
// API in-process), Dayu's objects through the translators, every sync message decoder (traffic
// reports included), the node request decoder (logs, metrics, exec), the dashboard's watch signal,
// the exec session's WebSocket messages, the relay handshake lines, the mesh catalog and the
// Kubernetes API's bodies and query strings. Each case must end (a hang fails it), never throw, and a refusal must be a 4xx with
// the path of what was wrong — never a 500. Bounded in `npm test`; LEVEE_FUZZ_RUNS=N for more.
import { afterAll, describe, expect, test } from "bun:test";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { parseManifests } from "../../src/manifest/manifest.ts";
import { parseCatalog } from "../../src/mesh/catalog/schema.ts";
import { parseAnswer, parseChallenge, verifyRequestLine } from "../../src/mesh/transport/relay-protocol.ts";
import { decodeMessage as decodeExecMessage } from "../../src/protocol/exec-session.ts";
import { decodeLogRequest } from "../../src/protocol/log-request.ts";
import { decodeMessage, newMessage, type PlanPacked } from "../../src/protocol/messages.ts";
import { unpackPlan } from "../../src/protocol/plan-packing.ts";
import { parseWatchSignal, watchSignalSchema } from "../../src/protocol/traffic.ts";
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

describe("the sync protocol's decoders", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    json.map((v) => new TextEncoder().encode(JSON.stringify(v))),
    fc
      .record(
        {
          v: fc.constantFrom(1, 2, "1"),
          type: fc.constantFrom("plan", "status", "ack", "heartbeat", "hello", "welcome", "routes", "x"),
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
