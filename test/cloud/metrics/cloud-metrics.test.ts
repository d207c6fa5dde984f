// The cloud's metrics on a real store and the in-process API: the state gauges are read from SQL
// at scrape time, the link's and broker's counters are copied, and API requests are labelled by
// the route pattern that answered (never the raw path).
import { describe, expect, test } from "bun:test";
import { NodeWireBytes } from "../../../src/cloud/broker-bytes.ts";
import { CloudMetrics } from "../../../src/cloud/metrics/cloud-metrics.ts";
import { SyncBytes } from "../../../src/protocol/sync-bytes.ts";
import { Counter } from "../../../src/runtime/counters.ts";
import { openStore } from "../../../src/store/store.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../../harness/cloud-api.ts";
import { makeTempDir } from "../../harness/cluster.ts";
import { sample } from "../../harness/prometheus-text.ts";

const METRICS_TOKEN = `lvmet_${"x".repeat(40)}`;

function setup() {
  const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  const refused = new Counter("levee_mqtt_refused_total", "reason");
  const stats = { received: 0, sent: 0 };
  const bytes = new SyncBytes();
  const nodeBytes = new NodeWireBytes();
  const cloud = new CloudMetrics({
    store,
    link: { dropped, bytes, heartbeatSeconds: () => 5, stats: () => stats },
    broker: { refused, clients: () => 4, nodeBytes },
    logStreams: { counts: () => ({ pending: 1, flowing: 2 }) },
  });
  const { app } = inProcessCloud({
    store,
    replanOnJoin: false,
    deps: { metrics: { cloud, token: METRICS_TOKEN, cloudName: "cloud" } },
  });
  return { store, cloud, app, dropped, refused, stats, bytes, nodeBytes };
}

describe("cloud metrics", () => {
  test("nodes by phase (every phase, 0 included), workers by phase, plan lag per node", async () => {
    const { store, cloud } = setup();
    for (const name of ["a", "b", "c"]) registeredNode(store, name);
    store.db.query("UPDATE nodes SET phase = 'Ready' WHERE name IN ('a', 'b')").run();
    const now = new Date().toISOString();
    const status = store.db.query(
      "INSERT INTO worker_status (service, node, idx, phase, ready, restarts, since, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
    );
    status.run("web", "a", 0, "ready", 1, now, now);
    status.run("web", "b", 0, "ready", 1, now, now);
    status.run("web", "c", 0, "backoff", 0, now, now);
    store.db
      .query("INSERT INTO plans (node, revision, hash, plan, applied_revision) VALUES ('a', 5, 'h', '{}', 3)")
      .run();
    store.db
      .query("INSERT INTO plans (node, revision, hash, plan, applied_revision) VALUES ('b', 2, 'h', '{}', 2)")
      .run();
    const text = await cloud.text();
    expect(sample(text, 'levee_nodes{phase="Ready"}')).toBe(2);
    expect(sample(text, 'levee_nodes{phase="Disconnected"}')).toBe(1);
    expect(sample(text, 'levee_nodes{phase="Lost"}')).toBe(0);
    expect(sample(text, 'levee_workers{phase="ready"}')).toBe(2);
    expect(sample(text, 'levee_workers{phase="backoff"}')).toBe(1);
    expect(sample(text, "levee_workers_ready")).toBe(2);
    expect(sample(text, 'levee_node_plan_lag_revisions{node="a"}')).toBe(2);
    expect(sample(text, 'levee_node_plan_lag_revisions{node="b"}')).toBe(0);
    // Read at each scrape: a change shows at the next one.
    store.db.query("UPDATE plans SET applied_revision = 5 WHERE node = 'a'").run();
    expect(sample(await cloud.text(), 'levee_node_plan_lag_revisions{node="a"}')).toBe(0);
  });

  test("MQTT counters, broker clients, log streams, apply→ack latency, process, build", async () => {
    const { cloud, dropped, refused, stats } = setup();
    stats.received = 12;
    stats.sent = 9;
    dropped.inc("bad-schema", 2);
    refused.inc("auth");
    cloud.acks.planned([{ node: "a", revision: 1 }]);
    cloud.acks.applied("a", 1);
    const text = await cloud.text();
    expect(sample(text, "levee_mqtt_messages_received_total")).toBe(12);
    expect(sample(text, "levee_mqtt_messages_sent_total")).toBe(9);
    expect(sample(text, 'levee_sync_dropped_total{reason="bad-schema"}')).toBe(2);
    expect(sample(text, 'levee_mqtt_refused_total{reason="auth"}')).toBe(1);
    expect(sample(text, "levee_mqtt_clients")).toBe(4);
    expect(sample(text, 'levee_log_streams{state="flowing"}')).toBe(2);
    expect(sample(text, "levee_apply_ack_duration_seconds_count")).toBe(1);
    expect(sample(text, "levee_sync_heartbeat_seconds")).toBe(5);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(text).toMatch(/levee_build_info\{version="[^"]+",commit="[^"]+"\} 1/);
    // prom-client's gauges named _total (which promtool rejects) are left out.
    expect(text).not.toContain("nodejs_active_handles_total");
    // Counted anew at each scrape, not added up.
    stats.received = 13;
    expect(sample(await cloud.text(), "levee_mqtt_messages_received_total")).toBe(13);
  });

  test("GET /metrics: the admin or the metrics token; the metrics token reads nothing else", async () => {
    const { app } = setup();
    expect((await app.request("/metrics")).status).toBe(401);
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    expect((await app.request("/metrics", bearer("lvmet_wrong"))).status).toBe(401);
    const res = await app.request("/metrics", bearer(METRICS_TOKEN));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    expect((await app.request("/metrics", bearer(ADMIN_TOKEN))).status).toBe(200);
    expect((await app.request("/api/v1/nodes", bearer(METRICS_TOKEN))).status).toBe(401);
    expect((await app.request("/api/v1/metrics/targets", bearer(METRICS_TOKEN))).status).toBe(200);
  });

  test("API requests by method, route pattern and status; unknown paths are one series", async () => {
    const { app, cloud, store } = setup();
    registeredNode(store, "edge1");
    const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
    expect((await app.request("/api/v1/nodes/edge1", admin)).status).toBe(200);
    expect((await app.request("/api/v1/nodes/nobody", admin)).status).toBe(404);
    expect((await app.request("/api/v1/nodes/edge1")).status).toBe(401);
    await app.request("/api/v1/random-1", admin);
    await app.request("/nowhere/random-2");
    await app.request("/healthz");
    const text = await cloud.text();
    const route = (r: string, status: number, method = "GET") =>
      sample(text, `levee_http_requests_total{method="${method}",route="${r}",status="${status}"}`);
    expect(route("/api/v1/nodes/:name", 200)).toBe(1);
    expect(route("/api/v1/nodes/:name", 404)).toBe(1);
    expect(route("/api/v1/nodes/:name", 401)).toBe(1);
    expect(route("(unmatched)", 404)).toBe(2);
    expect(route("/healthz", 200)).toBe(1);
    expect(text).not.toContain("random-");
    expect(
      sample(text, 'levee_http_request_duration_seconds_count{method="GET",route="/api/v1/nodes/:name"}'),
    ).toBe(3);
  });

  test("sync bytes: the session's by kind, each node's connections, what heartbeats cost a day", async () => {
    const { cloud, bytes, nodeBytes } = setup();
    // 0 until a heartbeat was measured.
    expect(sample(await cloud.text(), "levee_sync_heartbeat_bytes_per_node_day")).toBe(0);
    const payload = Buffer.from('{"v":1,"node":"a","type":"heartbeat"}');
    bytes.count("received", { cmd: "publish", topic: "levee/v1/node/a/up", qos: 1, payload });
    const live = { bytesRead: 100, bytesWritten: 40 };
    const gone = { bytesRead: 7, bytesWritten: 3 };
    nodeBytes.track(gone, "a");
    nodeBytes.closedConnection(gone);
    nodeBytes.track(live, "a");
    const text = await cloud.text();
    // 2 (fixed header) + 2 + 18 (topic) + 2 (packet id) + the payload.
    const packet = 24 + payload.length;
    expect(sample(text, 'levee_sync_bytes_total{direction="received",kind="heartbeat"}')).toBe(packet);
    expect(sample(text, 'levee_sync_packets_total{direction="received",kind="heartbeat"}')).toBe(1);
    expect(sample(text, "levee_sync_heartbeat_bytes_per_node_day")).toBe(((packet + 4) * 86_400) / 5);
    expect(sample(text, 'levee_sync_node_bytes_total{node="a",direction="up"}')).toBe(107);
    expect(sample(text, 'levee_sync_node_bytes_total{node="a",direction="down"}')).toBe(43);
  });
});
