// Prometheus metrics of the mesh's routing decisions, on a Registry the caller passes in (the agent's
// /metrics registry; a fresh one per test). Every decision is observable:
//   levee_mesh_requests_total{service,node,worker,outcome}     per HTTP request served by a local worker
//   levee_mesh_connections_total{service,node,worker,outcome}  per TCP connection served by a local worker
//   levee_mesh_in_flight{service,node,worker}                  requests / connections under way
//   levee_mesh_upstream_latency_seconds{service,node,worker}   latency (not of refused/reset connects)
//   levee_mesh_ejections_total{service,node,worker}            a worker ejected after a connect failure
//   levee_mesh_panic_picks_total{service,node}                 picks made while every ready worker was ejected
//   levee_mesh_refusals_total{service,node,reason}             requests / connections refused (503, 404, …)
//   levee_mesh_forwards_total{service,node,to,reason}          fallback forwards to another node
//   levee_mesh_thread_connections_total{thread}                connections accepted per mesh thread
// `node` is the node that decided (this one); `worker` is the worker index.
//
// The per-request ones (requests, connections, in flight, latency) are plain numbers in WorkerCells
// (worker-counters.ts) on the data path, folded into these metrics when the registry is scraped
// (prom-client's collect(); the histogram exports its cells directly): no label hashing per request.
// Mesh threads (src/mesh/threads/) count in cells of their own and post the deltas here.

import { Counter, Gauge, type Registry } from "prom-client";
import { type BalancerObserver, isConnectFailure, type UpstreamOutcome } from "./balancer.ts";
import { CellHistogram, cellLabels as labelsOf } from "./cell-histogram.ts";
import type { Protocol } from "./registry.ts";
import type { RouteDecision } from "./route.ts";
import { OUTCOMES, type OutcomeName, type WorkerCell, WorkerCells } from "./worker-counters.ts";

/** The outcome label: ok | 5xx | refused | reset | timeout | failed. */
export function outcomeLabel(outcome: UpstreamOutcome): OutcomeName {
  if (outcome.error) return outcome.error;
  if (outcome.status !== undefined && outcome.status >= 500) return "5xx";
  return outcome.ok ? "ok" : "failed";
}

/** The latency histogram's bounds, seconds (the mesh threads' cells use the same). */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

type WorkerLabel = "service" | "node" | "worker";

export class MeshMetrics {
  readonly requests: Counter<WorkerLabel | "outcome">;
  readonly connections: Counter<WorkerLabel | "outcome">;
  readonly inFlight: Gauge<WorkerLabel>;
  readonly latency: CellHistogram;
  readonly ejections: Counter<WorkerLabel>;
  readonly panicPicks: Counter<"service" | "node">;
  readonly refusals: Counter<"service" | "node" | "reason">;
  readonly forwards: Counter<"service" | "node" | "to" | "reason">;
  readonly threadConnections: Counter<"thread">;
  private sync: (() => Promise<void>) | undefined;
  private syncing: Promise<void> | undefined;
  /** The per-worker counters (also read by the traffic reports for the cloud: src/node/traffic-reporter.ts). */
  readonly cells = new WorkerCells(LATENCY_BUCKETS);

  constructor(registry: Registry) {
    const registers = [registry];
    const workerLabels: WorkerLabel[] = ["service", "node", "worker"];
    const cells = this.cells;
    /** Folds the cells of one protocol into a counter by outcome (at scrape time). */
    const foldOutcomes = (counter: Counter<WorkerLabel | "outcome">, protocol: "http" | "tcp") => {
      counter.reset();
      for (const cell of cells.all()) {
        if (cell.protocol !== protocol) continue;
        OUTCOMES.forEach((outcome, i) => {
          const n = cell.outcomes[i] as number;
          if (n > 0) counter.inc({ ...labelsOf(cell), outcome }, n);
        });
      }
    };
    this.requests = new Counter({
      name: "levee_mesh_requests_total",
      help: "HTTP requests served by a local worker, by outcome",
      labelNames: [...workerLabels, "outcome"],
      registers,
      collect: () => this.afterSync(() => foldOutcomes(this.requests, "http")),
    });
    this.connections = new Counter({
      name: "levee_mesh_connections_total",
      help: "TCP connections served by a local worker, by outcome",
      labelNames: [...workerLabels, "outcome"],
      registers,
      collect: () => this.afterSync(() => foldOutcomes(this.connections, "tcp")),
    });
    this.inFlight = new Gauge({
      name: "levee_mesh_in_flight",
      help: "Requests (http) or connections (tcp) under way to a local worker",
      labelNames: workerLabels,
      registers,
      collect: () =>
        this.afterSync(() => {
          this.inFlight.reset();
          for (const cell of cells.all()) {
            this.inFlight.inc(labelsOf(cell), cell.inFlight + cell.inFlightElsewhere);
          }
        }),
    });
    this.latency = new CellHistogram(
      "levee_mesh_upstream_latency_seconds",
      "Latency of requests / connections to a local worker (connect failures excluded)",
      cells,
      registry,
      () => this.synced(),
    );
    this.ejections = new Counter({
      name: "levee_mesh_ejections_total",
      help: "Times a local worker was ejected from balancing after a refused or reset connection",
      labelNames: workerLabels,
      registers,
      collect: () => this.synced(),
    });
    this.panicPicks = new Counter({
      name: "levee_mesh_panic_picks_total",
      help: "Picks made while every ready worker was ejected (panic mode)",
      labelNames: ["service", "node"],
      registers,
      collect: () => this.synced(),
    });
    this.refusals = new Counter({
      name: "levee_mesh_refusals_total",
      help: "Requests or connections refused, by reason",
      labelNames: ["service", "node", "reason"],
      registers,
      collect: () => this.synced(),
    });
    this.forwards = new Counter({
      name: "levee_mesh_forwards_total",
      help: "Requests or connections forwarded to another node by a fallback",
      labelNames: ["service", "node", "to", "reason"],
      registers,
      collect: () => this.synced(),
    });
    this.threadConnections = new Counter({
      name: "levee_mesh_thread_connections_total",
      help: "Connections accepted by the service-port and upstream listeners, by mesh thread (0: the main thread)",
      labelNames: ["thread"],
      registers,
      collect: () => this.synced(),
    });
  }

  /** Before a scrape, `sync` brings the mesh threads' counters in (threads/threads.ts). */
  syncWith(sync: () => Promise<void>): void {
    this.sync = sync;
  }

  /** The scrape's one sync round with the mesh threads (shared by every metric), if any. */
  private synced(): Promise<void> | undefined {
    if (!this.sync) return undefined;
    this.syncing ??= this.sync().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private afterSync(fold: () => void): Promise<void> | undefined {
    const sync = this.synced();
    if (sync) return sync.then(fold);
    fold();
    return undefined;
  }

  /** Balancer hooks for `service` on `node` (pass as BalancerRegistry's `observe`). */
  observer(service: string, node: string, protocol: Protocol): BalancerObserver {
    return cellObserver(this.cells, service, node, protocol, this);
  }

  /** A pick made while every ready worker was ejected. */
  panicPick(service: string, node: string, n = 1): void {
    this.panicPicks.inc({ service, node }, n);
  }

  /** A worker ejected after a connect failure. */
  ejected(service: string, node: string, worker: string, n = 1): void {
    this.ejections.inc({ service, node, worker }, n);
  }

  /** Connections accepted by the service-port and upstream listeners of mesh thread `thread`. */
  accepted(thread: number, n = 1): void {
    this.threadConnections.inc({ thread: String(thread) }, n);
  }

  /** Counts a route decision's refusal or forward (local picks are counted by the observer). */
  decision(service: string, node: string, decision: RouteDecision): void {
    if (decision.kind === "refuse") this.refusals.inc({ service, node, reason: decision.reason });
    else if (decision.kind === "forward") {
      this.forwards.inc({ service, node, to: decision.node, reason: decision.reason });
    }
  }
}

/** Where the mesh's data path counts (MeshMetrics; in a mesh thread, its tally: threads/thread-counts.ts). */
export interface MeshCounters {
  observer(service: string, node: string, protocol: Protocol): BalancerObserver;
  decision(service: string, node: string, decision: RouteDecision): void;
}

/** Where a cell observer counts the rare events (MeshMetrics, or a mesh thread's tally). */
export interface BalancerEvents {
  panicPick(service: string, node: string): void;
  ejected(service: string, node: string, worker: string): void;
}

/** Balancer hooks that count into `cells` (per request: field increments) and `events`. */
export function cellObserver(
  cells: WorkerCells,
  service: string,
  node: string,
  protocol: Protocol,
  events: BalancerEvents,
): BalancerObserver {
  // The cells of this balancer's workers, by worker index (looked up once per worker).
  const byIndex: WorkerCell[] = [];
  const cellOf = (index: number): WorkerCell => {
    let cell = byIndex[index];
    if (cell === undefined) {
      cell = cells.cell(service, node, index, protocol);
      byIndex[index] = cell;
    }
    return cell;
  };
  return {
    picked: (endpoint, inFlight, panic) => {
      cellOf(endpoint.index).inFlight = inFlight;
      if (panic) events.panicPick(service, node);
    },
    finished: (endpoint, outcome, inFlight) => {
      const cell = cellOf(endpoint.index);
      cell.inFlight = inFlight;
      cell.finished(outcomeLabel(outcome));
      if (!isConnectFailure(outcome) && Number.isFinite(outcome.latencyMs) && outcome.latencyMs >= 0) {
        cell.observe(outcome.latencyMs / 1000);
      }
    },
    ejected: (endpoint) => events.ejected(service, node, String(endpoint.index)),
  };
}
