// The agent's own Prometheus metrics, next to the mesh's (src/mesh/routing/metrics.ts) on the
// registry the agent API serves at /metrics and the cloud relays (GET /api/v1/nodes/<node>/metrics).
// State is read when Prometheus scrapes (the supervisor's snapshot, the link's info); only health
// probes and artifact fetches are counted as they happen (NodeCounters, bumped through callbacks).
//   levee_workers{phase}                         this node's workers by phase
//   levee_worker_ready{service,worker}           1 when the worker is ready
//   levee_worker_restarts_total{service,worker}  restarts of each worker (kept across agent restarts)
//   levee_health_checks_total{result}            health probes: passed | failed
//   levee_artifact_fetches_total{outcome}        artifact downloads: fetched | retried | failed
//   levee_artifact_fetched_bytes_total           bytes of the artifacts fetched
//   levee_artifact_source_bytes_total{source}    bytes received for artifacts: peer | cloud
//   levee_artifact_served_bytes_total            bytes of artifacts this node sent to peers
//   levee_sync_dropped_total{reason}             messages from the cloud dropped (docs/PROTOCOL.md)
//   levee_sync_bytes_total{direction,kind}       MQTT bytes of the link to the cloud (sync-bytes.ts)
//   levee_sync_packets_total{direction,kind}     MQTT packets of the link, likewise
//   levee_sync_plans_received_total{form}       plans received: plain, deflated, delta, delta-deflated
//   levee_sync_connected                         1 when the link to the broker is up
//   levee_sync_outbox_messages                   worker statuses waiting for the cloud's ack
//   levee_node_plan_revision                     the plan revision this node runs (0: none yet)
//   process_*, nodejs_*                          prom-client's default metrics (local-node.ts)
import type { Registry } from "prom-client";
import type { SyncBytes } from "../../protocol/sync-bytes.ts";
import { registerSyncBytes } from "../../protocol/sync-bytes-metrics.ts";
import { Counter } from "../../runtime/counters.ts";
import { exportCounter, scraped, totalCounter } from "../../runtime/prom-export.ts";
import type { WorkerSnapshot } from "../workers/supervisor.ts";

/** What the agent counts as it happens (the supervisor's and artifact cache's callbacks bump it). */
export class NodeCounters {
  readonly healthChecks = new Counter("levee_health_checks_total", "result");
  readonly artifactFetches = new Counter("levee_artifact_fetches_total", "outcome");
  artifactBytes = 0;
  readonly artifactSourceBytes = new Counter("levee_artifact_source_bytes_total", "source");
  artifactServedBytes = 0;

  healthChecked(passed: boolean): void {
    this.healthChecks.inc(passed ? "passed" : "failed");
  }

  artifactFetched(outcome: string, bytes: number): void {
    this.artifactFetches.inc(outcome);
    this.artifactBytes += bytes;
  }
}

export interface NodeMetricsSource {
  workers(): readonly WorkerSnapshot[];
  link: {
    readonly dropped: Counter;
    readonly bytes: SyncBytes;
    readonly plansReceived: Counter;
    info(): { connected: boolean; outboxDepth: number; plan: { revision: number } | null };
  };
  counters: NodeCounters;
}

export function registerNodeMetrics(registry: Registry, source: NodeMetricsSource): void {
  const { counters, link } = source;
  scraped(registry, "gauge", "levee_workers", "This node's workers by phase", ["phase"], () => {
    const byPhase = new Map<string, number>();
    for (const w of source.workers()) byPhase.set(w.phase, (byPhase.get(w.phase) ?? 0) + 1);
    return [...byPhase].map(([phase, n]) => [{ phase }, n] as const);
  });
  scraped(registry, "gauge", "levee_worker_ready", "1 when the worker is ready", ["service", "worker"], () =>
    source.workers().map((w) => [{ service: w.service, worker: w.index }, w.ready ? 1 : 0] as const),
  );
  scraped(
    registry,
    "counter",
    "levee_worker_restarts_total",
    "Restarts of each worker of this node",
    ["service", "worker"],
    () => source.workers().map((w) => [{ service: w.service, worker: w.index }, w.restarts] as const),
  );
  exportCounter(registry, counters.healthChecks, "Health probes of this node's workers, by result");
  exportCounter(
    registry,
    counters.artifactFetches,
    "Artifact downloads by outcome (a retried attempt counts once)",
  );
  totalCounter(
    registry,
    "levee_artifact_fetched_bytes_total",
    "Bytes of the artifacts this node fetched",
    () => counters.artifactBytes,
  );
  exportCounter(
    registry,
    counters.artifactSourceBytes,
    "Bytes received for artifacts, by where they came from (--peer-fetch)",
  );
  totalCounter(
    registry,
    "levee_artifact_served_bytes_total",
    "Bytes of artifacts this node sent to other nodes (--peer-fetch)",
    () => counters.artifactServedBytes,
  );
  exportCounter(registry, link.dropped, "Messages from the cloud this node dropped, by reason");
  registerSyncBytes(registry, link.bytes, "this node's link to the cloud");
  exportCounter(
    registry,
    link.plansReceived,
    "Plans this node received, by form: plain, deflated, delta, delta-deflated",
  );
  scraped(
    registry,
    "gauge",
    "levee_sync_connected",
    "1 when the node's link to the MQTT broker is up",
    [],
    () => [[{}, link.info().connected ? 1 : 0]],
  );
  scraped(
    registry,
    "gauge",
    "levee_sync_outbox_messages",
    "Worker statuses waiting for the cloud's acknowledgement",
    [],
    () => [[{}, link.info().outboxDepth]],
  );
  scraped(registry, "gauge", "levee_node_plan_revision", "The plan revision this node runs", [], () => {
    return [[{}, link.info().plan?.revision ?? 0]];
  });
}
