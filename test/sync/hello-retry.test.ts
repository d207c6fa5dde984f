// An edge whose hello nobody heard (it reached the broker before the cloud subscribed, as with an
// external broker and a cloud starting after its edges) asks again until welcomed: it gets its
// plan and is Ready within about a second, not a heartbeat interval later. And a node silent for
// 3 intervals is Disconnected, then Ready again at its next heartbeat, not at the next sweep.
import { afterAll, describe, expect, test } from "bun:test";
import { startEmbeddedBroker } from "../../src/cloud/broker.ts";
import { createBrokerAuthority } from "../../src/cloud/sync-store.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore } from "../../src/store/store.ts";
import { type CloudLinkOptions, startCloudLink } from "../../src/sync/cloud-link.ts";
import { startEdgeLink } from "../../src/sync/edge-link.ts";
import { hashPassword } from "../../src/sync/mosquitto-password.ts";
import { makeTempDir, waitUntil } from "../harness/cluster.ts";

const logs: string[] = [];
const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });
const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function setup() {
  const broker = await startEmbeddedBroker({ host: "127.0.0.1", port: 0 }, log);
  closers.push(() => broker.close());
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const cloudStore = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  closers.push(() => cloudStore.close());
  const now = new Date().toISOString();
  cloudStore.db
    .query("INSERT INTO nodes (name, uid, mqtt_password_hash, joined_at, phase_since) VALUES (?, ?, ?, ?, ?)")
    .run("edge1", "uid-edge1", hashPassword("pw"), now, now);
  cloudStore.db
    .query("INSERT INTO plans (node, revision, hash, plan) VALUES ('edge1', 1, 'h1', ?)")
    .run(JSON.stringify({ node: "edge1", services: [], configs: {} }));
  broker.setAuthority(createBrokerAuthority(cloudStore, "cloud-pw"));
  const edgeStore = openStore({ dataDir: makeTempDir(), mode: "edge" });
  closers.push(() => edgeStore.close());
  const edge = startEdgeLink({
    store: edgeStore,
    log,
    node: "edge1",
    url,
    username: "edge1",
    password: "pw",
    agentVersion: "test",
    addresses: [],
    backoff: FAST,
    onPlan: () => {},
  });
  closers.push(() => edge.close());
  const phase = () =>
    cloudStore.db.query<{ phase: string }, []>("SELECT phase FROM nodes WHERE name = 'edge1'").get()?.phase;
  const startCloud = (extra: Partial<CloudLinkOptions> = {}) => {
    const cloud = startCloudLink({
      store: cloudStore,
      log,
      url,
      password: "cloud-pw",
      backoff: FAST,
      ...extra,
    });
    closers.unshift(() => cloud.close());
    return cloud;
  };
  return { edge, phase, startCloud };
}

const FAST = { baseMs: 20, capMs: 200 };

describe("hello until welcomed", () => {
  test("a hello sent before the cloud listened is repeated, and the node gets its plan", async () => {
    const { edge, phase, startCloud } = await setup();
    await waitUntil("edge connected", () => edge.state() === true, 3000);
    await Bun.sleep(50); // its first hello is gone: nobody was subscribed

    const started = performance.now();
    startCloud();
    await waitUntil("edge welcomed with its plan", () => edge.info().plan?.revision === 1, 5000);
    expect(performance.now() - started).toBeLessThan(2500); // a heartbeat is 5 s
    expect(edge.info().cloud).toMatchObject({ desiredRevision: 1 });
    await waitUntil("edge1 Ready", () => phase() === "Ready", 2000);
  });
});

describe("silence and heartbeats", () => {
  test("3 silent intervals make a node Disconnected; its next heartbeat makes it Ready at once", async () => {
    const { edge, phase, startCloud } = await setup();
    let skew = 0;
    // 1 s heartbeats; no periodic sweep in this test: only the heartbeat can bring it back
    const cloud = startCloud({
      heartbeatSeconds: () => 1,
      sweepIntervalMs: 600_000,
      now: () => Date.now() + skew,
    });
    await waitUntil("edge1 Ready", () => phase() === "Ready", 5000);
    await waitUntil("edge told 1 s heartbeats", () => edge.info().heartbeatSeconds === 1, 3000);
    skew = 4000; // the cloud's clock jumps past 3 intervals without a heartbeat
    cloud.sweep();
    expect(phase()).toBe("Disconnected");
    await waitUntil("edge1 Ready after its next heartbeat", () => phase() === "Ready", 2000);
  });
});
