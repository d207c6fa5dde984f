// The sync protocol end to end, in one process: the embedded broker with its authority and ACL,
// a cloud link on a cloud store, and edge links on edge stores, all over real loopback MQTT.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../../src/cloud/broker.ts";
import { type CloudLink, startCloudLink } from "../../../src/cloud/link/cloud-link.ts";
import { createBrokerAuthority } from "../../../src/cloud/link/sync-store.ts";
import { type EdgeLink, type EdgeLinkOptions, startEdgeLink } from "../../../src/node/link/edge-link.ts";
import { readStoredPlan, type StoredPlan } from "../../../src/node/link/plan-store.ts";
import { StatusOutbox } from "../../../src/node/link/status-outbox.ts";
import { type Body, encodeMessage, type MessageType, newMessage } from "../../../src/protocol/messages.ts";
import { hashPassword } from "../../../src/protocol/mosquitto-password.ts";
import { downTopic, presenceTopic, upTopic } from "../../../src/protocol/topics.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";
import { workerStatus } from "../../protocol/worker-status.ts";

const logs: string[] = [];
const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });
const CLOUD_PW = "cloud-secret";
const PW: Record<string, string> = { edge1: "pw-edge1", edge2: "pw-edge2", edge3: "pw-edge3" };
const FAST = { baseMs: 20, capMs: 200 };

let broker: EmbeddedBroker;
let url = "";
let cloudStore: Store;
let cloud: CloudLink;
const edgeStore = new Map<string, Store>();
const closers: (() => unknown)[] = [];

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${logs.slice(-30).join("\n")}`);
    await Bun.sleep(10);
  }
}

function setPlan(node: string, revision: number, plan: Record<string, unknown>): void {
  cloudStore.db
    .query(
      `INSERT INTO plans (node, revision, hash, plan) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (node) DO UPDATE SET revision = ?2, hash = ?3, plan = ?4, sent_at = NULL`,
    )
    .run(node, revision, `hash-${revision}`, JSON.stringify(plan));
}

const planRow = (node: string) =>
  cloudStore.db
    .query<
      { revision: number; applied_revision: number; applied_hash: string; acked_at: string | null },
      [string]
    >("SELECT revision, applied_revision, applied_hash, acked_at FROM plans WHERE node = ?")
    .get(node);

const nodeRow = (node: string) =>
  cloudStore.db
    .query<
      { online: number; phase: string; boot_id: string; agent_version: string; addresses: string },
      [string]
    >("SELECT online, phase, boot_id, agent_version, addresses FROM nodes WHERE name = ?")
    .get(node);

/** Each edge's status outbox (what its supervisor records into; the link sends from it). */
const outboxes = new Map<string, StatusOutbox>();

function startEdge(node: string, received: StoredPlan[], extra: Partial<EdgeLinkOptions> = {}): EdgeLink {
  let store = edgeStore.get(node);
  if (!store) {
    store = openStore({ dataDir: makeTempDir(), mode: "edge" });
    edgeStore.set(node, store);
  }
  const outbox = new StatusOutbox(store);
  outboxes.set(node, outbox);
  return startEdgeLink({
    store,
    log: log.child({ node }),
    node,
    url,
    username: node,
    password: PW[node] ?? "",
    agentVersion: "test-1",
    addresses: ["127.0.0.11"],
    bootId: "boot-1",
    backoff: FAST,
    outbox,
    onPlan: (p) => received.push(p),
    ...extra,
  });
}

/** A raw MQTT client; resolves once connected or refused. */
function rawClient(options: mqtt.IClientOptions): Promise<{ client: MqttClient; error?: Error }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2000, ...options });
    closers.push(() => client.end(true));
    client.once("connect", () => resolve({ client }));
    client.once("error", (error) => resolve({ client, error }));
  });
}

beforeAll(async () => {
  broker = await startEmbeddedBroker({ host: "127.0.0.1", port: 0 }, log.child({ component: "broker" }));
  url = `mqtt://127.0.0.1:${broker.port}`;
  cloudStore = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  const now = new Date().toISOString();
  for (const name of Object.keys(PW)) {
    cloudStore.db
      .query(
        `INSERT INTO nodes (name, uid, mqtt_password_hash, joined_at, phase_since) VALUES (?, ?, ?, ?, ?)`,
      )
      .run(name, `uid-${name}`, hashPassword(PW[name] ?? ""), now, now);
  }
  setPlan("edge1", 1, { services: ["echo"] });
  broker.setAuthority(createBrokerAuthority(cloudStore, CLOUD_PW));
  cloud = startCloudLink({
    store: cloudStore,
    log: log.child({ component: "cloud-link" }),
    url,
    password: CLOUD_PW,
    backoff: FAST,
    sweepIntervalMs: 100,
    heartbeatSeconds: () => 1,
  });
  await waitFor("cloud link connected", () => cloud.state() === true);
});

afterAll(async () => {
  if (process.env.SYNC_TEST_LOGS) console.log(logs.join("\n"));
  for (const close of closers.reverse()) await close();
  await cloud?.close();
  await broker?.close();
  for (const store of edgeStore.values()) store.close();
  cloudStore?.close();
});

describe("sync over the embedded broker", () => {
  test("edge gets its plan, persists it, acks; cloud records the node and the applied revision", async () => {
    const received: StoredPlan[] = [];
    const edge = startEdge("edge1", received);
    closers.push(() => edge.close());
    await waitFor("applied revision 1", () => planRow("edge1")?.applied_revision === 1);
    expect(planRow("edge1")).toMatchObject({ applied_hash: "hash-1" });
    expect(planRow("edge1")?.acked_at).not.toBeNull();
    expect(received.map((p) => p.revision)).toEqual([1]);
    expect(readStoredPlan(edgeStore.get("edge1") as Store)).toMatchObject({
      epoch: cloud.epoch,
      revision: 1,
      plan: { services: ["echo"] },
    });
    await waitFor("node Ready", () => nodeRow("edge1")?.phase === "Ready");
    expect(nodeRow("edge1")).toMatchObject({ online: 1, boot_id: "boot-1", agent_version: "test-1" });
    expect(JSON.parse(nodeRow("edge1")?.addresses ?? "[]")).toEqual(["127.0.0.11"]);
    expect(edge.state()).toBe(true);
    expect(edge.info()).toMatchObject({ connected: true, heartbeatSeconds: 1, plan: { revision: 1 } });

    // Worker status goes through the outbox, is stored by the cloud, and acked away.
    outboxes.get("edge1")?.record(workerStatus("echo", "Running"));
    await waitFor("worker status", () =>
      cloudStore.db.query("SELECT * FROM worker_status WHERE node = 'edge1' AND service = 'echo'").get(),
    );
    await waitFor("outbox drained", () => edge.info().outboxDepth === 0);
  });

  test("a plan lost in transit is healed by the next heartbeat", async () => {
    setPlan("edge1", 2, { services: ["echo", "lost"] }); // no publishPlan: as if the message was lost
    await waitFor("applied revision 2", () => planRow("edge1")?.applied_revision === 2, 4000);
  });

  test("a will of a replaced connection is ignored; a missed online presence heals by heartbeat", async () => {
    // levee-cloud may publish anywhere under levee/v1/: it plays an old connection's last will.
    const { client } = await rawClient({
      username: "levee-cloud",
      password: CLOUD_PW,
      clientId: "levee-cloud_t",
    });
    const old = new Date(Date.now() - 60_000).toISOString();
    const stale = { ...newMessage("edge1", { type: "presence", online: false }), ts: old };
    await client.publishAsync(presenceTopic("edge1"), encodeMessage(stale), { qos: 1 });
    await waitFor("stale will ignored", () => logs.some((l) => l.includes("stale offline presence ignored")));
    expect(nodeRow("edge1")?.online).toBe(1);
    const fresh = newMessage("edge1", { type: "presence", online: false });
    await client.publishAsync(presenceTopic("edge1"), encodeMessage(fresh), { qos: 1 });
    await waitFor("edge1 offline", () => nodeRow("edge1")?.phase === "Disconnected");
    // The edge is in fact connected: its next heartbeat puts it back.
    await waitFor(
      "edge1 Ready again",
      () => nodeRow("edge1")?.online === 1 && nodeRow("edge1")?.phase === "Ready",
    );
    client.end(true);
  });

  test("a revision made while the edge is away arrives after it reconnects", async () => {
    const received: StoredPlan[] = [];
    const edge = startEdge("edge2", received);
    await waitFor("edge2 connected", () => edge.state() === true);
    await edge.close();
    await waitFor("edge2 offline", () => nodeRow("edge2")?.online === 0);
    await waitFor("edge2 Disconnected", () => nodeRow("edge2")?.phase === "Disconnected");

    setPlan("edge2", 7, { services: ["late"] });
    expect(cloud.publishPlan("edge2")).toBe(true); // published to nobody: the edge is away
    expect(planRow("edge2")?.applied_revision).toBe(0);

    const again = startEdge("edge2", received);
    closers.push(() => again.close());
    await waitFor("applied revision 7", () => planRow("edge2")?.applied_revision === 7);
    expect(received.map((p) => p.revision)).toEqual([7]);
    expect(readStoredPlan(edgeStore.get("edge2") as Store)?.plan).toEqual({ services: ["late"] });
    await waitFor("edge2 Ready", () => nodeRow("edge2")?.phase === "Ready");
  });

  test("an edge keeps its stored plan and reports why while the broker is unreachable", async () => {
    const received: StoredPlan[] = [];
    const edge = startEdge("edge1", received, { url: "mqtt://127.0.0.1:1" });
    await waitFor(
      "a reason",
      () => typeof edge.state() === "string" && String(edge.state()).includes("retrying"),
    );
    expect(readStoredPlan(edgeStore.get("edge1") as Store)?.revision).toBe(2);
    expect(received).toEqual([]);
    await edge.close();
    const refused = startEdge("edge1", received, { password: "wrong" });
    await waitFor("refusal reason", () => /not authorized.*retrying/i.test(String(refused.state())));
    await refused.close();
  });
});

describe("the broker's authority and ACL", () => {
  test("a node's credentials cannot publish to another node's up topic: refused, cloud never sees it", async () => {
    const before = broker.refused.get("publish");
    const { client, error } = await rawClient({
      username: "edge3",
      password: PW.edge3,
      clientId: "levee-edge3",
    });
    expect(error).toBeUndefined();
    const forged = newMessage("edge1", {
      type: "status",
      seq: 99,
      workers: [workerStatus("forged", "Running")],
    });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.publish(upTopic("edge1"), encodeMessage(forged), { qos: 1 });
    await closed; // the broker drops a client that publishes where it may not
    expect(broker.refused.get("publish")).toBe(before + 1);
    await Bun.sleep(50);
    expect(cloudStore.db.query("SELECT * FROM worker_status WHERE service = 'forged'").get()).toBeNull();
    expect(logs.some((l) => l.includes("mqtt publish refused") && l.includes("edge3"))).toBe(true);
  });

  test("a message naming another node on the sender's own topic is dropped by the cloud", async () => {
    const before = cloud.dropped.get("wrong-node");
    const { client } = await rawClient({ username: "edge3", password: PW.edge3, clientId: "levee-edge3" });
    const lie = newMessage("edge1", { type: "heartbeat", epoch: null, appliedRevision: 0, outboxDepth: 0 });
    await client.publishAsync(upTopic("edge3"), encodeMessage(lie), { qos: 1 });
    await waitFor("wrong-node drop", () => cloud.dropped.get("wrong-node") === before + 1);
    client.end(true);
  });

  test("a node that acks (or reports) a plan the cloud never sent it is not recorded", async () => {
    setPlan("edge3", 4, { services: ["real"] });
    const before = cloud.dropped.get("unsent-plan");
    const { client } = await rawClient({ username: "edge3", password: PW.edge3, clientId: "levee-edge3" });
    const send = <T extends MessageType>(body: Body<T> & { type: T }) =>
      client.publishAsync(upTopic("edge3"), encodeMessage(newMessage<T>("edge3", body)), { qos: 1 });
    // A revision beyond the plan, then the plan's revision with another hash.
    await send({ type: "ack", epoch: cloud.epoch, revision: 999, hash: "wrong" });
    await send({ type: "ack", epoch: cloud.epoch, revision: 4, hash: "wrong" });
    await send({
      type: "hello",
      epoch: cloud.epoch,
      appliedRevision: 999,
      planHash: "wrong",
      agentVersion: "x",
      bootId: "b",
      addresses: [],
    });
    await send({ type: "heartbeat", epoch: cloud.epoch, appliedRevision: 999, outboxDepth: 0 });
    await waitFor("four unsent-plan drops", () => cloud.dropped.get("unsent-plan") === before + 4);
    expect(planRow("edge3")).toMatchObject({
      revision: 4,
      applied_revision: 0,
      applied_hash: "",
      acked_at: null,
    });
    // Logged once, not once per message.
    expect(logs.filter((l) => l.includes("never sent it") && l.includes("edge3"))).toHaveLength(1);
    // The plan it was sent is still acknowledged as ever.
    await send({ type: "ack", epoch: cloud.epoch, revision: 4, hash: "hash-4" });
    await waitFor("applied revision 4", () => planRow("edge3")?.applied_revision === 4);
    expect(planRow("edge3")).toMatchObject({ applied_hash: "hash-4" });
    client.end(true);
  });

  test("a node cannot subscribe to other nodes' topics, wildcards included", async () => {
    const { client } = await rawClient({ username: "edge3", password: PW.edge3, clientId: "levee-edge3" });
    const filters = ["levee/v1/node/+/down", "#", downTopic("edge1"), downTopic("edge3")];
    // mqtt.js reports a refused filter (SUBACK code 128) as an error carrying the SUBACK.
    const suback = await client.subscribeAsync(filters, { qos: 1 }).then(
      () => undefined,
      (err: { packet?: { granted?: number[] } }) => err.packet,
    );
    expect(suback?.granted).toEqual([128, 128, 128, 1]);
    expect(broker.refused.get("subscribe")).toBeGreaterThanOrEqual(3);
    client.end(true);
  });

  test("unknown clients, wrong passwords and borrowed client ids cannot connect", async () => {
    const before = broker.refused.get("auth");
    expect((await rawClient({})).error?.message).toMatch(/not authorized/i);
    expect((await rawClient({ username: "stranger", password: "x" })).error?.message).toMatch(
      /not authorized/i,
    );
    expect(
      (await rawClient({ username: "edge3", password: "wrong", clientId: "levee-edge3" })).error?.message,
    ).toMatch(/not authorized/i);
    // A node's password but a node name the cloud would route as the cloud: refused too.
    expect(
      (await rawClient({ username: "levee-cloud", password: PW.edge3, clientId: "levee-cloud_x" })).error,
    ).toBeDefined();
    expect(broker.refused.get("auth")).toBe(before + 4);
    // Right password, someone else's client id (would take over edge1's session).
    expect(
      (await rawClient({ username: "edge3", password: PW.edge3, clientId: "levee-edge1" })).error?.message,
    ).toMatch(/not authorized/i);
    expect(broker.refused.get("client-id")).toBe(1);
    expect(cloud.state()).toBe(true);
  });

  test("a message from a node no longer in the nodes table is dropped", async () => {
    const { client } = await rawClient({ username: "edge3", password: PW.edge3, clientId: "levee-edge3" });
    cloudStore.db.query("DELETE FROM nodes WHERE name = 'edge3'").run();
    const before = cloud.dropped.get("unknown-node");
    const beat = newMessage("edge3", { type: "heartbeat", epoch: null, appliedRevision: 0, outboxDepth: 0 });
    await client.publishAsync(upTopic("edge3"), encodeMessage(beat), { qos: 1 });
    await waitFor("unknown-node drop", () => cloud.dropped.get("unknown-node") === before + 1);
    client.end(true);
  });

  test("a packet announcing more than the limit closes the connection before it is buffered", async () => {
    const before = broker.refused.get("packet-size");
    const socket = tcpConnect(broker.port, "127.0.0.1");
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => {});
    // CONNECT with a remaining length of 200 MiB (0x80 0x80 0x80 0x64), then a little of it.
    socket.write(Buffer.concat([Buffer.from([0x10, 0x80, 0x80, 0x80, 0x64]), Buffer.alloc(1024)]));
    await closed;
    expect(broker.refused.get("packet-size")).toBe(before + 1);
  });
});
