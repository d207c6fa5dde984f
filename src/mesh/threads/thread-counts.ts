// The counters of the mesh threads, summed into the main thread's MeshMetrics (prom-client lives
// there, and the traffic reports read its cells). Two halves, both pure:
//   ThreadTally   in a mesh thread: counts like MeshMetrics does (per-worker cells, plus the rare
//                 events as plain numbers) and hands out what changed since the last post;
//   ThreadCounts  in the main thread: adds each delta to MeshMetrics; in-flight numbers are a
//                 thread's current values, kept per thread and dropped when the thread goes.
import type { BalancerObserver } from "../routing/balancer.ts";
import {
  type BalancerEvents,
  cellObserver,
  LATENCY_BUCKETS,
  type MeshCounters,
  type MeshMetrics,
} from "../routing/metrics.ts";
import type { Protocol } from "../routing/registry.ts";
import type { RouteDecision } from "../routing/route.ts";
import { OUTCOMES, type WorkerCell, WorkerCells } from "../routing/worker-counters.ts";
import type { CellDelta, CountsDelta, EventDelta } from "./messages.ts";

interface Posted {
  outcomes: number[];
  buckets: number[];
  latencySum: number;
  latencyCount: number;
  inFlight: number;
}

/** A mesh thread's counters. */
export class ThreadTally implements MeshCounters, BalancerEvents {
  readonly cells = new WorkerCells(LATENCY_BUCKETS);
  /** Connections accepted since the last post. */
  accepted = 0;
  private readonly events = new Map<string, EventDelta>();
  private readonly posted = new Map<WorkerCell, Posted>();

  observer(service: string, node: string, protocol: Protocol): BalancerObserver {
    return cellObserver(this.cells, service, node, protocol, this);
  }

  decision(service: string, node: string, decision: RouteDecision): void {
    if (decision.kind === "refuse")
      this.event({ kind: "refusal", service, node, reason: decision.reason, n: 1 });
    else if (decision.kind === "forward") {
      this.event({ kind: "forward", service, node, to: decision.node, reason: decision.reason, n: 1 });
    }
  }

  panicPick(service: string, node: string): void {
    this.event({ kind: "panic", service, node, n: 1 });
  }

  ejected(service: string, node: string, worker: string): void {
    this.event({ kind: "ejection", service, node, worker, n: 1 });
  }

  /** What changed since the last call (then counted as posted). */
  take(): CountsDelta {
    const cells: CellDelta[] = [];
    for (const cell of this.cells.all()) {
      const before = this.posted.get(cell);
      const delta: CellDelta = {
        service: cell.service,
        node: cell.node,
        worker: Number(cell.worker),
        protocol: cell.protocol,
        outcomes: cell.outcomes.map((n, i) => n - (before?.outcomes[i] ?? 0)),
        buckets: cell.buckets.map((n, i) => n - (before?.buckets[i] ?? 0)),
        latencySum: cell.latencySum - (before?.latencySum ?? 0),
        latencyCount: cell.latencyCount - (before?.latencyCount ?? 0),
        inFlight: cell.inFlight,
      };
      const changed =
        delta.latencyCount !== 0 ||
        delta.outcomes.some((n) => n !== 0) ||
        delta.inFlight !== (before?.inFlight ?? 0);
      if (!changed) continue;
      cells.push(delta);
      this.posted.set(cell, {
        outcomes: [...cell.outcomes],
        buckets: [...cell.buckets],
        latencySum: cell.latencySum,
        latencyCount: cell.latencyCount,
        inFlight: cell.inFlight,
      });
    }
    const events = [...this.events.values()];
    this.events.clear();
    const accepted = this.accepted;
    this.accepted = 0;
    return { cells, events, accepted };
  }

  private event(event: EventDelta): void {
    const { n: _, ...labels } = event;
    const key = JSON.stringify(labels);
    const known = this.events.get(key);
    if (known) known.n += event.n;
    else this.events.set(key, { ...event });
  }
}

/** Whether a delta carries anything (an empty one is not posted). */
export function isEmpty(counts: CountsDelta): boolean {
  return counts.cells.length === 0 && counts.events.length === 0 && counts.accepted === 0;
}

/** The main thread's side: the threads' deltas into MeshMetrics. */
export class ThreadCounts {
  /** By thread: the in-flight numbers it last reported, by cell. */
  private readonly inFlight = new Map<number, Map<WorkerCell, number>>();

  constructor(private readonly metrics: MeshMetrics) {}

  apply(thread: number, counts: CountsDelta): void {
    const { metrics } = this;
    for (const delta of counts.cells) {
      if (delta.outcomes.length !== OUTCOMES.length || delta.buckets.length !== LATENCY_BUCKETS.length + 1)
        continue;
      const cell = metrics.cells.cell(delta.service, delta.node, delta.worker, delta.protocol);
      delta.outcomes.forEach((n, i) => {
        cell.outcomes[i] = (cell.outcomes[i] ?? 0) + n;
      });
      delta.buckets.forEach((n, i) => {
        cell.buckets[i] = (cell.buckets[i] ?? 0) + n;
      });
      cell.latencySum += delta.latencySum;
      cell.latencyCount += delta.latencyCount;
      let mine = this.inFlight.get(thread);
      if (!mine) {
        mine = new Map();
        this.inFlight.set(thread, mine);
      }
      cell.inFlightElsewhere += delta.inFlight - (mine.get(cell) ?? 0);
      mine.set(cell, delta.inFlight);
    }
    for (const event of counts.events) {
      if (event.kind === "panic") metrics.panicPick(event.service, event.node, event.n);
      else if (event.kind === "ejection") metrics.ejected(event.service, event.node, event.worker, event.n);
      else if (event.kind === "refusal") {
        metrics.refusals.inc({ service: event.service, node: event.node, reason: event.reason }, event.n);
      } else {
        const { service, node, to, reason } = event;
        metrics.forwards.inc({ service, node, to, reason }, event.n);
      }
    }
    if (counts.accepted > 0) metrics.accepted(thread, counts.accepted);
  }

  /** A thread is gone: what it had in flight is no longer. */
  forget(thread: number): void {
    for (const [cell, n] of this.inFlight.get(thread) ?? []) cell.inFlightElsewhere -= n;
    this.inFlight.delete(thread);
  }
}
