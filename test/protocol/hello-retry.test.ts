// An edge whose hello nobody heard (it reached the broker before the cloud subscribed, as with an
// external broker and a cloud starting after its edges) asks again until welcomed: it gets its
// plan and is Ready within about a second, not a heartbeat interval later. And a node silent for
// 3 intervals is Disconnected, then Ready again at its next heartbeat, not at the next sweep.
// Retries are jittered and doubling; a repeated hello on a connection its plan already went out on
// gets a welcome only, a hello on a new connection the plan again (and so does a heartbeat on a
// new connection whose hello was lost).
import { afterAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { startEmbeddedBroker } from "../../src/cloud/broker.ts";
import { type CloudLinkOptions, startCloudLink } from "../../src/cloud/link/cloud-link.ts";
import { createBrokerAuthority } from "../../src/cloud/link/sync-store.ts";
import { startEdgeLink } from "../../src/node/link/edge-link.ts";
import { StatusOutbox } from "../../src/node/link/status-outbox.ts";
import { helloRetryDelayMs, planOnItsWay } from "../../src/protocol/hello-retry.ts";
import {
  type Body,
  decodeMessage,
  encodeMessage,
  type MessageType,
  newMessage,
} from "../../src/protocol/messages.ts";
import { hashPassword } from "../../src/protocol/mosquitto-password.ts";
import { downTopic, presenceTopic, upTopic } from "../../src/protocol/topics.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir, waitUntil } from "../harness/cluster.ts";

const logs: string[] = [];
const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });
const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function setup(withEdge = true) {
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
  if (!withEdge) return { url, phase, startCloud, edge: undefined };
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
    outbox: new StatusOutbox(edgeStore),
    onPlan: () => {},
  });
  closers.push(() => edge.close());
  return { url, phase, startCloud, edge };
}

const FAST = { baseMs: 20, capMs: 200 };

async function setupWithEdge() {
  const s = await setup();
  if (!s.edge) throw new Error("no edge");
  return { ...s, edge: s.edge };
}

describe("retry delays", () => {
  test("doubling from [1, 2) s, jittered, never above the cap", () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect([0, 1, 2].map((a) => helloRetryDelayMs(a, 60_000, low))).toEqual([1000, 2000, 4000]);
    expect([0, 1, 2].map((a) => helloRetryDelayMs(a, 60_000, high))).toEqual([1999, 3999, 7999]);
    // a 5 s cap (the edge's heartbeat before its first welcome): [2.5, 5) s from the third retry on
    expect(helloRetryDelayMs(2, 5000, low)).toBe(2500);
    expect(helloRetryDelayMs(9, 5000, high)).toBeLessThan(5000);
    for (let a = 0; a < 20; a++) {
      const d = helloRetryDelayMs(a, 5000);
      expect(d).toBeGreaterThanOrEqual(Math.min(1000 * 2 ** a, 2500));
      expect(d).toBeLessThan(5000);
    }
    // jitter: 100 edges retrying for the first time do not all pick the same moment
    expect(new Set(Array.from({ length: 100 }, () => helloRetryDelayMs(0, 5000))).size).toBeGreaterThan(50);
  });

  test("a plan is on its way only when the same one went out on this connection within a heartbeat", () => {
    const plan = { revision: 3, hash: "h3" };
    const sent = { ...plan, atMs: 10_000 };
    expect(planOnItsWay(sent, plan, 9_000, 12_000, 5)).toBe(true);
    expect(planOnItsWay(sent, plan, 10_000, 14_999, 5)).toBe(true);
    expect(planOnItsWay(sent, plan, 9_000, 15_000, 5)).toBe(false); // a heartbeat ago: send again
    expect(planOnItsWay(sent, plan, 11_000, 12_000, 5)).toBe(false); // sent on an earlier connection
    expect(planOnItsWay(sent, plan, undefined, 12_000, 5)).toBe(false); // connection unknown
    expect(planOnItsWay(sent, { revision: 4, hash: "h4" }, 9_000, 12_000, 5)).toBe(false);
    expect(planOnItsWay(sent, { revision: 3, hash: "other" }, 9_000, 12_000, 5)).toBe(false);
    expect(planOnItsWay(undefined, plan, 9_000, 12_000, 5)).toBe(false);
  });
});

describe("hello until welcomed", () => {
  test("a hello sent before the cloud listened is repeated, and the node gets its plan", async () => {
    const { edge, phase, startCloud } = await setupWithEdge();
    await waitUntil("edge connected", () => edge.state() === true, 3000);
    await Bun.sleep(50); // its first hello is gone: nobody was subscribed

    const started = performance.now();
    startCloud();
    await waitUntil("edge welcomed with its plan", () => edge.info().plan?.revision === 1, 5000);
    expect(performance.now() - started).toBeLessThan(3500); // a heartbeat is 5 s; the retry [1, 2) s
    expect(edge.info().cloud).toMatchObject({ desiredRevision: 1 });
    await waitUntil("edge1 Ready", () => phase() === "Ready", 2000);
  });
});

describe("silence and heartbeats", () => {
  test("3 silent intervals make a node Disconnected; its next heartbeat makes it Ready at once", async () => {
    const { edge, phase, startCloud } = await setupWithEdge();
    let skew = 0;
    // 1 s heartbeats; no periodic sweep in this test: only the heartbeat can bring it back
    const cloud = startCloud({
      heartbeatSeconds: () => 1,
      sweepIntervalMs: 600_000,
      now: () => Date.now() + skew,
    });
    await waitUntil("edge1 Ready", () => phase() === "Ready", 5000);
    await waitUntil("edge told 1 s heartbeats", () => edge.info().heartbeatSeconds === 1, 3000);
    // A heartbeat already received but not yet handled would be handled by the sweep with the
    // jumped clock (and look fresh): handle it first, on the same turn, so none can arrive between.
    cloud.sweep();
    skew = 4000; // the cloud's clock jumps past 3 intervals without a heartbeat
    cloud.sweep();
    expect(phase()).toBe("Disconnected");
    await waitUntil("edge1 Ready after its next heartbeat", () => phase() === "Ready", 2000);
  });
});

describe("repeated hello", () => {
  test("on the same connection: a welcome only; on a new connection: the plan again", async () => {
    const { url, startCloud } = await setup(false);
    const cloud = startCloud();
    await waitUntil("cloud link connected", () => cloud.state() === true, 3000);
    const client = await mqtt.connectAsync(url, {
      username: "edge1",
      password: "pw",
      clientId: "levee-edge1",
      reconnectPeriod: 0,
    });
    closers.unshift(() => client.endAsync(true));
    const got: string[] = [];
    client.on("message", (_topic, payload) => {
      const decoded = decodeMessage("edge1", payload, "down");
      if (decoded.ok) got.push(decoded.msg.type);
    });
    await client.subscribeAsync(downTopic("edge1"), { qos: 1 });
    const publish = <T extends MessageType>(body: Body<T> & { type: T }, topic = upTopic("edge1")) =>
      client.publishAsync(topic, encodeMessage(newMessage<T>("edge1", body)), { qos: 1, retain: false });
    const hello = {
      type: "hello" as const,
      epoch: null,
      appliedRevision: 0,
      planHash: null,
      agentVersion: "test",
      bootId: "boot-1",
      addresses: [],
    };
    const online = () => publish({ type: "presence", online: true }, presenceTopic("edge1"));

    await online();
    await publish(hello);
    await waitUntil("welcome and plan", () => got.length === 2, 3000);
    expect(got).toEqual(["welcome", "plan"]);

    // The edge did not see the welcome in time and asks again (it has not applied the plan yet).
    await publish(hello);
    await waitUntil("second welcome", () => got.length === 3, 3000);
    await Bun.sleep(100);
    expect(got).toEqual(["welcome", "plan", "welcome"]);
    expect(cloud.stats().helloRepeats).toBe(1);

    // A new connection (online presence): what went out on the old one may be lost.
    await Bun.sleep(5);
    await online();
    await publish(hello);
    await waitUntil("welcome and plan again", () => got.length === 5, 3000);
    expect(got.slice(3)).toEqual(["welcome", "plan"]);
    expect(cloud.stats().helloRepeats).toBe(1);

    // A new connection whose hello was lost: its first heartbeat gets the welcome and the plan,
    // the next one (the plan on its way, sent less than a heartbeat ago) nothing.
    const beat = { type: "heartbeat" as const, epoch: null, appliedRevision: 0, outboxDepth: 0 };
    await Bun.sleep(5);
    await online();
    await publish(beat);
    await waitUntil("welcome and plan on a heartbeat", () => got.length === 7, 3000);
    expect(got.slice(5)).toEqual(["welcome", "plan"]);
    await publish(beat);
    await Bun.sleep(200);
    expect(got.length).toBe(7);
    expect(cloud.stats().messages).toBe(8); // 3 presences, 3 hellos, 2 heartbeats
  });
});
