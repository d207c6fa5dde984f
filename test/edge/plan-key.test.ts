// How a node learns the cloud's plan-signing key: in the join answer (kept with its identity), or,
// for a node that joined before plans were signed, from GET /api/v1/plan-key with its own
// credentials, fetched once (retried while the cloud refuses or is away) and kept.
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { cloudApiApp } from "../../src/cloud/api/app.ts";
import { ControlPlane } from "../../src/cloud/control-plane.ts";
import { joinNode } from "../../src/cloud/node-registry.ts";
import { planSigner } from "../../src/cloud/plan-signing-key.ts";
import { joinCloud } from "../../src/edge/join.ts";
import { ensurePlanKey, fetchPlanKey } from "../../src/edge/plan-key-fetch.ts";
import { savePlanKey, storedPlanKey } from "../../src/node/plan-key.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { Backoff } from "../../src/runtime/backoff.ts";
import { Readiness } from "../../src/runtime/health.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const log = createLogger({ level: "error", format: "json", write: () => {} });
const stores: Store[] = [];
afterAll(() => {
  for (const s of stores) s.close();
});
const store = (mode: "cloud" | "edge") => {
  const s = openStore({ dataDir: makeTempDir(), mode });
  stores.push(s);
  return s;
};

describe("the plan key on a node", () => {
  const cloud = store("cloud");
  const signer = planSigner(generateKeyPairSync("ed25519").privateKey);
  const ADMIN = "lvadm_test-token-that-is-long-enough-0123456789";
  const app = cloudApiApp({
    store: cloud,
    log,
    readiness: new Readiness(),
    identity: { mode: "cloud" },
    adminToken: ADMIN,
    cloudMqttPassword: "x",
    plane: new ControlPlane(cloud, log, () => {}),
    join: {
      hasher: mosquittoHasher,
      mqttUrlForNodes: () => "mqtt://127.0.0.1:1883",
      planSigner: signer,
      onJoined: () => {},
    },
  });
  const fetchApp = ((input: string | URL | Request, init?: RequestInit) =>
    app.request(input instanceof Request ? input : String(input), init)) as typeof fetch;
  const old = joinNode(
    cloud,
    mosquittoHasher,
    { name: "old", labels: {}, addresses: [], agentVersion: "", arch: "" },
    () => {},
  );
  if (old.kind !== "joined") throw new Error("setup");
  const oldIdentity = { name: "old", uid: old.uid, mqttUrl: "mqtt://x", ...old.credentials };

  test("a join brings the key, and the edge keeps it", async () => {
    const token = (await (
      await app.request("/api/v1/tokens", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}` },
        body: JSON.stringify({ uses: 1, ttl: "1h" }),
      })
    ).json()) as { token: string };
    const edge = store("edge");
    const realFetch = globalThis.fetch;
    globalThis.fetch = fetchApp;
    try {
      await joinCloud({
        store: edge,
        cloudUrl: "http://cloud",
        nodeName: "new",
        token: token.token,
        addresses: [],
        agentVersion: "t",
      });
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(storedPlanKey(edge)).toEqual(signer.key);
  });

  test("GET /plan-key answers a node with its credentials, and no one without", async () => {
    expect(await fetchPlanKey("http://cloud", oldIdentity, fetchApp)).toEqual(signer.key);
    const wrong = fetchPlanKey("http://cloud", { ...oldIdentity, password: "wrong" }, fetchApp);
    await expect(wrong).rejects.toThrow(/HTTP 401 invalid node credentials/);
    expect((await app.request("/api/v1/plan-key")).status).toBe(401);
  });

  test("a node that joined before fetches it once, retrying, and keeps it", async () => {
    const edge = store("edge");
    let calls = 0;
    const flaky = ((input: string | URL | Request, init?: RequestInit) => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("connection refused"));
      return fetchApp(input, init);
    }) as typeof fetch;
    const backoff = new Backoff({ baseMs: 1, capMs: 2 });
    await ensurePlanKey({
      store: edge,
      cloudUrl: "http://cloud",
      identity: oldIdentity,
      log,
      stopped: () => false,
      backoff,
      fetch: flaky,
    });
    expect(calls).toBe(2);
    expect(storedPlanKey(edge)).toEqual(signer.key);
    // Kept: not asked again, and not replaced by a later answer.
    await ensurePlanKey({
      store: edge,
      cloudUrl: "http://cloud",
      identity: oldIdentity,
      log,
      stopped: () => false,
      fetch: flaky,
    });
    expect(calls).toBe(2);
  });

  test("a key that is not an Ed25519 public key is never kept", () => {
    const edge = store("edge");
    expect(() => savePlanKey(edge, { publicKey: "nope", keyId: "k" })).toThrow(/not a PEM public key/);
    expect(storedPlanKey(edge)).toBeUndefined();
  });
});
