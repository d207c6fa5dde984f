// How a node learns the cloud's plan-signing key: in the join answer (kept with its identity), or,
// for a node that joined before plans were signed, from GET /api/v1/plan-key with its own
// credentials, fetched once (retried while the cloud refuses or is away) and kept.
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { planSigner } from "../../src/cloud/plan-signing-key.ts";
import { joinCloud } from "../../src/edge/join.ts";
import { ensurePlanKey, fetchPlanKey } from "../../src/edge/plan-key-fetch.ts";
import { savePlanKey, storedPlanKey } from "../../src/node/plan-key.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { Backoff } from "../../src/runtime/backoff.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { makeTempDir } from "../harness/cluster.ts";

const stores: Store[] = [];
afterAll(() => {
  for (const s of stores) s.close();
});

describe("the plan key on a node", () => {
  const signer = planSigner(generateKeyPairSync("ed25519").privateKey);
  const {
    store: cloud,
    app,
    log,
  } = inProcessCloud({
    deps: {
      join: {
        hasher: mosquittoHasher,
        mqttUrlForNodes: () => "mqtt://127.0.0.1:1883",
        planSigner: signer,
        onJoined: () => {},
      },
    },
  });
  stores.push(cloud);
  const edgeStore = () => {
    const s = openStore({ dataDir: makeTempDir(), mode: "edge" });
    stores.push(s);
    return s;
  };
  const fetchApp = ((input: string | URL | Request, init?: RequestInit) =>
    app.request(input instanceof Request ? input : String(input), init)) as typeof fetch;
  const oldIdentity = { name: "old", uid: "u", mqttUrl: "mqtt://x", ...registeredNode(cloud, "old") };
  const ensure = (store: Store, fetcher: typeof fetch, backoff?: Backoff) =>
    ensurePlanKey({
      store,
      cloudUrl: "http://cloud",
      identity: oldIdentity,
      log,
      stopped: () => false,
      fetch: fetcher,
      ...(backoff ? { backoff } : {}),
    });

  test("a join brings the key, and the edge keeps it", async () => {
    const token = (await (
      await app.request("/api/v1/tokens", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ uses: 1, ttl: "1h" }),
      })
    ).json()) as { token: string };
    const edge = edgeStore();
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
    const edge = edgeStore();
    let calls = 0;
    const flaky = ((input: string | URL | Request, init?: RequestInit) => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("connection refused"));
      return fetchApp(input, init);
    }) as typeof fetch;
    const backoff = new Backoff({ baseMs: 1, capMs: 2 });
    await ensure(edge, flaky, backoff);
    expect(calls).toBe(2);
    expect(storedPlanKey(edge)).toEqual(signer.key);
    // Kept: not asked again, and not replaced by a later answer.
    await ensure(edge, flaky);
    expect(calls).toBe(2);
  });

  test("a key that is not an Ed25519 public key is never kept", () => {
    const edge = edgeStore();
    expect(() => savePlanKey(edge, { publicKey: "nope", keyId: "k" })).toThrow(/not a PEM public key/);
    expect(storedPlanKey(edge)).toBeUndefined();
  });
});
