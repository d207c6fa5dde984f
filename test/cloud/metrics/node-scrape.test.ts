// A node's metrics through the cloud, in one process over real sockets: the metrics routes on a
// Bun.serve'd app with the node routes' upload, and a node's LogServer that gets the registry's
// metrics requests (standing in for the MQTT hop, which test/e2e/metrics.test.ts covers) and
// uploads its text. Checks: the text arrives whole, the bounds on size and time, a disconnected or
// unknown node, the node's own failure relayed.
import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { requireAnyToken } from "../../../src/cloud/api/auth.ts";
import { NodeCredentials, requireNode } from "../../../src/cloud/api/node-auth.ts";
import { RouteRegistry } from "../../../src/cloud/api/route-registry.ts";
import { mountLogRoutes } from "../../../src/cloud/api/routes-logs.ts";
import { mountMetricsRoutes } from "../../../src/cloud/api/routes-metrics.ts";
import { LogStreams } from "../../../src/cloud/log-streams.ts";
import { CloudMetrics } from "../../../src/cloud/metrics/cloud-metrics.ts";
import { LogServer } from "../../../src/node/workers/logs/log-server.ts";
import { decodeLogRequest } from "../../../src/protocol/log-request.ts";
import { SyncBytes } from "../../../src/protocol/sync-bytes.ts";
import { Counter } from "../../../src/runtime/counters.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { openStore } from "../../../src/store/store.ts";
import { registeredNode } from "../../harness/cloud-api.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const TOKEN = `lvmet_${"t".repeat(40)}`;
const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
const log = createLogger({ level: "error", format: "json", write: () => {} });
const edge1 = registeredNode(store, "edge1");
registeredNode(store, "offline1");
store.db.query("UPDATE nodes SET online = 1, phase = 'Ready' WHERE name = 'edge1'").run();

/** What the node answers with: set per test (undefined: it never answers). */
let answer: (() => Promise<string>) | undefined;
let server: LogServer;
const streams = new LogStreams({
  answerTimeoutMs: 2_000,
  publish: (topic, payload) => {
    const node = topic.split("/")[3] ?? "";
    if (!decodeLogRequest(node, payload).ok) throw new Error("bad request");
    if (answer && node === "edge1") server.onMessage(payload);
    return true;
  },
});
const metrics = new CloudMetrics({
  store,
  link: {
    dropped: new Counter("levee_sync_dropped_total", "reason"),
    bytes: new SyncBytes(),
    heartbeatSeconds: () => 5,
    stats: () => ({ received: 0, sent: 0 }),
  },
});
const app = new Hono();
const api = new Hono();
const registry = new RouteRegistry();
const root = registry.on(app, "");
const routes = registry.on(api, "/api/v1");
mountLogRoutes(routes, {
  streams,
  store,
  log,
  admin: requireAnyToken([TOKEN]),
  node: requireNode(new NodeCredentials(store)),
});
mountMetricsRoutes(root, routes, {
  metrics,
  store,
  cloudName: "cloud",
  streams,
  scrape: requireAnyToken([TOKEN]),
  timeoutMs: 400,
  maxBytes: 1_000,
});
app.route("/api/v1", api);
const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, development: false });
const base = `http://127.0.0.1:${http.port}`;
server = new LogServer({
  node: "edge1",
  cloudUrl: () => base,
  username: edge1.username,
  password: edge1.password,
  openLog: () => ({ status: 404, error: "none" }),
  metrics: () => (answer ? answer() : Promise.resolve("")),
  log,
});
afterAll(() => {
  server.close();
  http.stop(true);
  store.close();
});

const get = (node: string) =>
  fetch(`${base}/api/v1/nodes/${node}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });

describe("a node's metrics through the cloud", () => {
  test("the node's text arrives whole, as Prometheus' text format", async () => {
    answer = async () => "# TYPE up_thing gauge\nup_thing 1\n";
    const res = await get("edge1");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toBe("# TYPE up_thing gauge\nup_thing 1\n");
    expect(streams.counts()).toEqual({ pending: 0, flowing: 0 });
  });

  test("bounded: more than maxBytes is a 502, a node that does not answer in time a 504", async () => {
    answer = async () => "x".repeat(5_000);
    const big = await get("edge1");
    expect(big.status).toBe(502);
    expect(((await big.json()) as { error: string }).error).toContain("1000 bytes");
    answer = undefined;
    const started = performance.now();
    const silent = await get("edge1");
    expect(silent.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(streams.counts()).toEqual({ pending: 0, flowing: 0 });
  });

  test("the node's failure is relayed; an unknown node 404, a disconnected one 503, a bad name 400", async () => {
    answer = async () => {
      throw new Error("registry broke");
    };
    const failed = await get("edge1");
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as { error: string }).error).toContain("registry broke");
    expect((await get("nobody")).status).toBe(404);
    expect((await get("offline1")).status).toBe(503);
    expect((await get("Not_A_Name")).status).toBe(400);
    expect((await fetch(`${base}/api/v1/nodes/edge1/metrics`)).status).toBe(401);
  });
});
