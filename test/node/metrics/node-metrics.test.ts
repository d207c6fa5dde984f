// The agent's metrics with fakes for the supervisor and the link: read at scrape time, counted
// through the callbacks the supervisor and the artifact cache are given.
import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { NodeCounters, registerNodeMetrics } from "../../../src/node/metrics/node-metrics.ts";
import type { WorkerSnapshot } from "../../../src/node/workers/supervisor.ts";
import { SyncBytes } from "../../../src/protocol/sync-bytes.ts";
import { Counter } from "../../../src/runtime/counters.ts";
import { sample } from "../../harness/prometheus-text.ts";

const worker = (service: string, index: number, phase: string, restarts: number): WorkerSnapshot => ({
  service,
  index,
  phase,
  ready: phase === "ready",
  port: null,
  pid: null,
  containerId: null,
  restarts,
  message: "",
});

describe("node metrics", () => {
  test("workers by phase, ready and restarts per worker; health checks, artifact fetches; the link", async () => {
    const registry = new Registry();
    let workers = [worker("web", 0, "ready", 0), worker("web", 1, "backoff", 3), worker("db", 0, "ready", 1)];
    const dropped = new Counter("levee_sync_dropped_total", "reason");
    const info = { connected: true, outboxDepth: 2, plan: { revision: 7 } as { revision: number } | null };
    const counters = new NodeCounters();
    const bytes = new SyncBytes();
    bytes.count("sent", { cmd: "pingreq" });
    registerNodeMetrics(registry, {
      workers: () => workers,
      link: {
        dropped,
        bytes,
        plansReceived: new Counter("levee_sync_plans_received_total", "form"),
        info: () => info,
      },
      counters,
    });
    counters.healthChecked(true);
    counters.healthChecked(true);
    counters.healthChecked(false);
    counters.artifactFetched("retried", 0);
    counters.artifactFetched("fetched", 1234);
    dropped.inc("bad-signature");

    const text = await registry.metrics();
    expect(sample(text, 'levee_workers{phase="ready"}')).toBe(2);
    expect(sample(text, 'levee_workers{phase="backoff"}')).toBe(1);
    expect(sample(text, 'levee_worker_ready{service="web",worker="1"}')).toBe(0);
    expect(sample(text, 'levee_worker_restarts_total{service="web",worker="1"}')).toBe(3);
    expect(sample(text, 'levee_worker_restarts_total{service="web",worker="0"}')).toBe(0);
    expect(sample(text, 'levee_health_checks_total{result="passed"}')).toBe(2);
    expect(sample(text, 'levee_health_checks_total{result="failed"}')).toBe(1);
    expect(sample(text, 'levee_artifact_fetches_total{outcome="fetched"}')).toBe(1);
    expect(sample(text, "levee_artifact_fetched_bytes_total")).toBe(1234);
    expect(sample(text, 'levee_sync_dropped_total{reason="bad-signature"}')).toBe(1);
    expect(sample(text, "levee_sync_connected")).toBe(1);
    expect(sample(text, 'levee_sync_bytes_total{direction="sent",kind="keepalive"}')).toBe(2);
    expect(sample(text, "levee_sync_outbox_messages")).toBe(2);
    expect(sample(text, "levee_node_plan_revision")).toBe(7);

    // Read again at the next scrape: a worker gone is gone, the link's state is current.
    workers = [worker("db", 0, "ready", 1)];
    info.connected = false;
    info.plan = null;
    const next = await registry.metrics();
    expect(sample(next, 'levee_workers{phase="backoff"}')).toBeUndefined();
    expect(next).not.toContain('service="web"');
    expect(sample(next, "levee_sync_connected")).toBe(0);
    expect(sample(next, "levee_node_plan_revision")).toBe(0);
  });
});
