// Metrics end to end: a real cloud and edge (harness). The cloud's /metrics and an edge's (on its
// agent API, and relayed through the cloud over MQTT) pass `promtool check metrics` (Debian
// `prometheus`); the metrics token reads them and nothing else; and a real Prometheus started with
// the documented scrape configuration (docs/prometheus.yml) discovers every node through the
// cloud's http_sd endpoint and scrapes each one `up`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  loggedStep,
  makeTempDir,
  REPO_ROOT,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";
import { sample } from "../harness/prometheus-text.ts";

// Debian's `prometheus` package (installed by .ci/run): without it the whole file is skipped, as the
// Mosquitto tests are without mosquitto.
const promtoolBin = Bun.which("promtool");
const prometheusBin = Bun.which("prometheus");
const havePrometheus = promtoolBin !== null && prometheusBin !== null;
if (!havePrometheus) console.warn("metrics e2e skipped: install Debian's prometheus (promtool, prometheus)");

let c: Cluster;
let metricsToken: string;
const step = loggedStep(() => c);

beforeAll(async () => {
  if (!havePrometheus) return;
  c = await startCluster({ edges: 1 });
  metricsToken = readFileSync(join(c.cloud.dataDir, "metrics.token"), "utf8").trim();
  await applyManifest(c, httpWorkerService("web", [{ node: "edge1", replicas: 1 }]));
  await waitUntil("the worker ready", async () => {
    const res = await c.cloud.api("/api/v1/workers");
    const { items } = (await res.json()) as { items: { ready: boolean }[] };
    return items.length === 1 && items.every((w) => w.ready);
  });
}, 60_000);
afterAll(async () => {
  await c?.destroy();
});

/** GET on the cloud API with the metrics token (`token` "": none). */
const scrape = (path: string, token = metricsToken) =>
  fetch(`${c.cloud.apiUrl}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

/** `promtool check metrics` on the text: its exit code and what it said. */
async function promtool(text: string): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([promtoolBin ?? "promtool", "check", "metrics"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  proc.stdin.write(text);
  await proc.stdin.end();
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: `${out}${err}` };
}

describe.skipIf(!havePrometheus)("metrics", () => {
  test(
    "the cloud's /metrics: the metrics token or the admin token, promtool-clean, the fleet's state",
    step(async () => {
      expect((await scrape("/metrics", "")).status).toBe(401);
      expect((await scrape("/metrics", "wrong")).status).toBe(401);
      // The metrics token reads metrics only.
      expect((await scrape("/api/v1/nodes")).status).toBe(401);
      const res = await scrape("/metrics");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      const text = await res.text();
      expect(await promtool(text)).toEqual({ code: 0, out: "" });
      expect(sample(text, 'levee_nodes{phase="Ready"}')).toBe(2);
      expect(sample(text, 'levee_nodes{phase="Lost"}')).toBe(0);
      expect(sample(text, 'levee_workers{phase="ready"}')).toBe(1);
      expect(sample(text, 'levee_node_plan_lag_revisions{node="edge1"}')).toBe(0);
      expect(sample(text, "levee_apply_ack_duration_seconds_count")).toBeGreaterThanOrEqual(1);
      expect(sample(text, "levee_mqtt_messages_received_total")).toBeGreaterThan(0);
      expect(sample(text, "levee_mqtt_messages_sent_total")).toBeGreaterThan(0);
      expect(sample(text, "levee_mqtt_clients")).toBe(3); // levee-cloud, the cloud's node, edge1
      expect(text).toContain('levee_http_requests_total{method="GET",route="/api/v1/workers",status="200"}');
      expect(text).toContain("process_cpu_seconds_total");
      // Unknown paths are one series, not one per path.
      await c.cloud.api("/api/v1/no-such-thing-1");
      await c.cloud.api("/api/v1/no-such-thing-2");
      const after = await (await scrape("/metrics")).text();
      expect(after).toContain('route="(unmatched)",status="404"');
      expect(after).not.toContain("no-such-thing");
      // The admin token reads them too.
      expect((await c.cloud.api("/metrics")).status).toBe(200);
    }),
  );

  test(
    "an edge's metrics, on its agent API and through the cloud over MQTT: promtool-clean",
    step(async () => {
      const direct = await fetch(`${c.edges[0]?.agentUrl}/metrics`);
      expect(direct.status).toBe(200);
      const directText = await direct.text();
      expect(await promtool(directText)).toEqual({ code: 0, out: "" });

      const res = await scrape("/api/v1/nodes/edge1/metrics");
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(await promtool(text)).toEqual({ code: 0, out: "" });
      expect(sample(text, 'levee_workers{phase="ready"}')).toBe(1);
      expect(sample(text, 'levee_worker_ready{service="web",worker="0"}')).toBe(1);
      expect(sample(text, 'levee_worker_restarts_total{service="web",worker="0"}')).toBe(0);
      expect(sample(text, 'levee_health_checks_total{result="passed"}')).toBeGreaterThan(0);
      expect(sample(text, "levee_sync_connected")).toBe(1);
      expect(sample(text, "levee_node_plan_revision")).toBeGreaterThanOrEqual(1);
      expect(text).toContain("process_resident_memory_bytes");
      // The cloud's own node answers the same way.
      expect((await scrape("/api/v1/nodes/cloud/metrics")).status).toBe(200);
      expect((await scrape("/api/v1/nodes/nobody/metrics")).status).toBe(404);
      expect((await scrape("/api/v1/nodes/edge1/metrics", "")).status).toBe(401);
    }),
  );

  test(
    "http_sd targets: the cloud and every node, each with its own metrics path and labels",
    step(async () => {
      const res = await scrape("/api/v1/metrics/targets");
      expect(res.status).toBe(200);
      const groups = (await res.json()) as { targets: string[]; labels: Record<string, string> }[];
      const host = new URL(c.cloud.apiUrl).host;
      expect(groups.map((g) => [g.targets, g.labels.__metrics_path__, g.labels.component])).toEqual([
        [[host], "/metrics", "cloud"],
        [[host], "/api/v1/nodes/cloud/metrics", "agent"],
        [[host], "/api/v1/nodes/edge1/metrics", "agent"],
      ]);
      expect(groups[2]?.labels).toMatchObject({ node: "edge1", role: "edge", node_phase: "Ready" });
    }),
  );

  test(
    "Prometheus with the documented scrape configuration discovers and scrapes every node through the cloud",
    step(async () => {
      const dir = makeTempDir("levee-prometheus-");
      const tokenFile = join(c.cloud.dataDir, "metrics.token");
      const documented = readFileSync(join(REPO_ROOT, "docs/prometheus.yml"), "utf8");
      const config = documented
        .replaceAll("http://127.0.0.1:7400", c.cloud.apiUrl)
        .replaceAll("/var/lib/levee/metrics.token", tokenFile)
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_timeout: 10s", "scrape_timeout: 1s")
        .replace("refresh_interval: 30s", "refresh_interval: 1s");
      expect(config).not.toBe(documented);
      writeFileSync(join(dir, "prometheus.yml"), config);
      const port = await freePort();
      const prometheus = Bun.spawn(
        [
          prometheusBin ?? "prometheus",
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      const stderr = new Response(prometheus.stderr).text();
      try {
        type Target = { labels: Record<string, string>; health: string; lastError: string };
        let active: Target[] = [];
        await waitUntil(
          "Prometheus scraping the cloud and both nodes, all up",
          async () => {
            const res = await fetch(`http://127.0.0.1:${port}/api/v1/targets`).catch(() => undefined);
            if (!res?.ok) return false;
            active = ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
            return active.length === 3 && active.every((t) => t.health === "up");
          },
          30_000,
        ).catch(async (err) => {
          prometheus.kill();
          throw new Error(`${err}: ${JSON.stringify(active)}\n${await stderr}`);
        });
        expect(active.map((t) => `${t.labels.component}/${t.labels.node}`).sort()).toEqual([
          "agent/cloud",
          "agent/edge1",
          "cloud/cloud",
        ]);
        // A sample of the edge's, queried from Prometheus.
        await waitUntil("the edge's workers in Prometheus", async () => {
          const q = encodeURIComponent('levee_workers{node="edge1",phase="ready"}');
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${q}`);
          const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
          return body.data.result[0]?.value[1] === "1";
        });
      } finally {
        prometheus.kill();
        await prometheus.exited;
      }
    }),
    60_000,
  );
});

/** A free TCP port on 127.0.0.1 (asked of the kernel). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
