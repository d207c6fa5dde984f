// The cloud's mesh CA on disk, the certificate API (join and renewal), and a node keeping its
// mesh credentials in SQLite and renewed.
import { afterAll, describe, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cloudApiApp } from "../../../src/cloud/api/app.ts";
import { ControlPlane } from "../../../src/cloud/control-plane.ts";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  issueOwnMeshTls,
  loadOrCreateNodeCa,
  ownedBy,
} from "../../../src/cloud/node-ca.ts";
import { joinNode } from "../../../src/cloud/node-registry.ts";
import { joinCloud } from "../../../src/edge/join.ts";
import { createCa, newNodeKey } from "../../../src/mesh/transport/certificates.ts";
import {
  keepMeshTls,
  renewalDue,
  requestMeshTls,
  storedMeshTls,
} from "../../../src/mesh/transport/mesh-credentials.ts";
import { nodeNameOf } from "../../../src/mesh/transport/node-tls.ts";
import { mosquittoHasher } from "../../../src/protocol/mosquitto-password.ts";
import { RefusalError } from "../../../src/runtime/errors.ts";
import { Readiness } from "../../../src/runtime/health.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const DAY = 24 * 3600_000;
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

describe("mesh CA in the cloud's data dir", () => {
  test("made once with the key 0600, then loaded as it is", () => {
    const dir = makeTempDir();
    const first = loadOrCreateNodeCa(dir);
    expect(statSync(join(dir, CA_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, CA_CERT_FILE), "utf8")).toBe(first.cert);
    const again = loadOrCreateNodeCa(dir);
    expect(again.cert).toBe(first.cert);
    expect(new X509Certificate(first.cert).ca).toBe(true);
    expect(first.expiresAt.getTime() - Date.now()).toBeGreaterThan(9.9 * 365 * DAY);
  });

  test("half a CA, or a key that is not the certificate's, refuses to start", () => {
    const dir = makeTempDir();
    loadOrCreateNodeCa(dir);
    unlinkSync(join(dir, CA_KEY_FILE));
    expect(() => loadOrCreateNodeCa(dir)).toThrow(RefusalError);
    expect(() => loadOrCreateNodeCa(dir)).toThrow(/mesh-ca.key is missing/);
    writeFileSync(join(dir, CA_KEY_FILE), createCa().key, { mode: 0o600 });
    expect(() => loadOrCreateNodeCa(dir)).toThrow(/does not belong/);
    expect(existsSync(join(dir, CA_CERT_FILE))).toBe(true);
  });

  test("the cloud's own credentials: issued by the CA, checked against it", () => {
    const ca = loadOrCreateNodeCa(makeTempDir());
    const own = issueOwnMeshTls(ca, "cloud", ["127.0.0.10"]);
    expect(nodeNameOf(new X509Certificate(own.cert))).toBe("cloud");
    expect(ownedBy(ca, "cloud", own)).toBe(true);
    expect(ownedBy(ca, "edge1", own)).toBe(false);
    const otherCa = loadOrCreateNodeCa(makeTempDir());
    expect(ownedBy(otherCa, "cloud", own)).toBe(false);
  });
});

describe("certificate API", () => {
  const cloud = store("cloud");
  const ca = loadOrCreateNodeCa(makeTempDir());
  const ADMIN = "lvadm_test-token-that-is-long-enough-0123456789";
  const plane = new ControlPlane(cloud, log, () => {});
  const app = cloudApiApp({
    store: cloud,
    log,
    readiness: new Readiness(),
    identity: { mode: "cloud" },
    adminToken: ADMIN,
    cloudMqttPassword: "x",
    plane,
    join: {
      hasher: mosquittoHasher,
      mqttUrlForNodes: () => "mqtt://127.0.0.1:1883",
      nodeCa: ca,
      onJoined: () => {},
    },
    nodeCa: ca,
  });
  const fetchApp = ((input: string | URL | Request, init?: RequestInit) =>
    app.request(input instanceof Request ? input : String(input), init)) as typeof fetch;
  const request = { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } };
  const edge1 = joinNode(
    cloud,
    mosquittoHasher,
    { name: "edge1", labels: {}, addresses: ["10.0.0.1"], agentVersion: "", arch: "" },
    () => {},
  );
  const edge2 = joinNode(
    cloud,
    mosquittoHasher,
    { name: "edge2", labels: {}, addresses: [], agentVersion: "", arch: "" },
    () => {},
  );
  if (edge1.kind !== "joined" || edge2.kind !== "joined") throw new Error("setup");

  test("a node gets a certificate for its own key, with the addresses the cloud has", async () => {
    const tls = await requestMeshTls({
      cloudUrl: "http://cloud",
      node: "edge1",
      ...edge1.credentials,
      fetch: fetchApp,
    });
    const cert = new X509Certificate(tls.cert);
    expect(tls.ca).toBe(ca.cert);
    expect(cert.checkPrivateKey(createPrivateKey(tls.key))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe("DNS:edge1.node.levee, IP Address:10.0.0.1");
  });

  test("only for itself; bad credentials, keys and names are refused with the reason", async () => {
    const other = requestMeshTls({
      cloudUrl: "http://cloud",
      node: "edge2",
      ...edge1.credentials,
      fetch: fetchApp,
    });
    await expect(other).rejects.toThrow(/edge1 may only ask for its own certificate/);
    const wrong = requestMeshTls({
      cloudUrl: "http://cloud",
      node: "edge1",
      username: "edge1",
      password: "wrong",
      fetch: fetchApp,
    });
    await expect(wrong).rejects.toThrow(/invalid node credentials/);
    const bad = await app.request("/api/v1/nodes/edge1/certificate", {
      ...request,
      body: JSON.stringify({ v: 1, publicKey: "nope" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: unknown[] }).issues).toEqual([
      { path: "publicKey", message: expect.stringMatching(/not a PEM public key/) },
    ]);
    const missing = await app.request("/api/v1/nodes/ghost/certificate", {
      ...request,
      body: JSON.stringify({ v: 1, publicKey: newNodeKey().publicKey }),
    });
    expect(missing.status).toBe(404);
    const admin = await app.request("/api/v1/nodes/edge2/certificate", {
      ...request,
      body: JSON.stringify({ v: 1, publicKey: newNodeKey().publicKey }),
    });
    expect(admin.status).toBe(201);
  });

  test("a join with a public key brings the certificate; the edge stores it with its key", async () => {
    const token = (await (
      await app.request("/api/v1/tokens", {
        ...request,
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
        nodeName: "edge3",
        token: token.token,
        addresses: ["10.0.0.3"],
        agentVersion: "test",
      });
    } finally {
      globalThis.fetch = realFetch;
    }
    const tls = storedMeshTls(edge);
    expect(tls?.node).toBe("edge3");
    expect(tls?.ca).toBe(ca.cert);
    const cert = new X509Certificate(tls?.cert ?? "");
    expect(cert.checkPrivateKey(createPrivateKey(tls?.key ?? ""))).toBe(true);
    expect(cert.checkIP("10.0.0.3")).toBe("10.0.0.3");
    const bad = await app.request("/api/v1/join", {
      method: "POST",
      body: JSON.stringify({ v: 1, token: token.token, node: { name: "edge4" }, mesh: { publicKey: "x" } }),
    });
    expect(bad.status).toBe(400);
  });
});

describe("keeping the node's credentials", () => {
  const ca = loadOrCreateNodeCa(makeTempDir());

  test("renewal is due without a certificate and within 30 days of its end", () => {
    const tls = issueOwnMeshTls(ca, "edge1", []);
    expect(renewalDue(undefined, Date.now())).toBe(true);
    expect(renewalDue(tls, Date.now())).toBe(false);
    expect(renewalDue(tls, Date.now() + 336 * DAY)).toBe(true);
  });

  test("missing → obtained and stored; failures retried; expiring → renewed; usable() forces a new one", async () => {
    const s = store("edge");
    let calls = 0;
    let failFirst = true;
    const events: string[] = [];
    const keeper = keepMeshTls({
      store: s,
      obtain: async () => {
        calls++;
        if (failFirst) {
          failFirst = false;
          throw new Error("cloud away");
        }
        return issueOwnMeshTls(ca, "edge1", []);
      },
      onEvent: (e) => events.push(e),
      backoff: { baseMs: 10, capMs: 20 },
    });
    const ready = await keeper.ready;
    keeper.close();
    expect(calls).toBe(2);
    expect(events).toEqual(["cannot get a mesh certificate yet; retrying", "mesh certificate obtained"]);
    expect(storedMeshTls(s)).toEqual(ready);
    expect(keeper.current()).toEqual(ready);

    // a year later the stored one is due: renewed at start
    const later = keepMeshTls({
      store: s,
      obtain: async () => issueOwnMeshTls(ca, "edge1", []),
      now: () => Date.now() + 340 * DAY,
    });
    expect(later.current()).toEqual(ready); // still used until the new one arrives
    await Bun.sleep(20);
    later.close();
    expect(later.current()?.cert).not.toBe(ready.cert);
    expect(storedMeshTls(s)?.cert).toBe(later.current()?.cert);

    // stored credentials of another CA are not used at all
    const otherCa = loadOrCreateNodeCa(makeTempDir());
    const replaced = keepMeshTls({
      store: s,
      obtain: async () => issueOwnMeshTls(otherCa, "edge1", []),
      usable: (t) => ownedBy(otherCa, "edge1", t),
    });
    expect(replaced.current()).toBeUndefined();
    const fresh = await replaced.ready;
    replaced.close();
    expect(ownedBy(otherCa, "edge1", fresh)).toBe(true);
  });
});
