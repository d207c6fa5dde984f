// Plain per-worker counters of the mesh's data path (pure: numbers in objects, no prom-client), so that
// a request costs a few field increments instead of a label lookup per metric. MeshMetrics
// (metrics.ts) folds them into its Prometheus metrics when /metrics is scraped. One WorkerCell per
// (service, node, worker, protocol): in flight, completions by outcome label, latency histogram.

/** Outcome labels, in the order they are exported. */
export const OUTCOMES = ["ok", "5xx", "refused", "reset", "timeout", "failed"] as const;
export type OutcomeName = (typeof OUTCOMES)[number];

export class WorkerCell {
  /** Under way in this thread (set by its balancer). */
  inFlight = 0;
  /** Under way in the other mesh threads (as they last reported). */
  inFlightElsewhere = 0;
  /** Completions per outcome label (same order as OUTCOMES). */
  readonly outcomes: number[] = OUTCOMES.map(() => 0);
  /** Latency samples per bucket (not cumulative); the last slot is above every bound (+Inf). */
  readonly buckets: number[];
  latencySum = 0;
  latencyCount = 0;

  constructor(
    readonly service: string,
    readonly node: string,
    readonly worker: string,
    readonly protocol: "http" | "tcp",
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Array<number>(bounds.length + 1).fill(0);
  }

  finished(outcome: OutcomeName): void {
    const i = OUTCOMES.indexOf(outcome);
    this.outcomes[i] = (this.outcomes[i] ?? 0) + 1;
  }

  /** A latency sample, seconds (bucket: the first bound ≥ value, as Prometheus' `le`). */
  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.latencySum += seconds;
    this.latencyCount++;
  }
}

/** The cells of one agent, keyed by service, node, worker and protocol; created on first use. */
export class WorkerCells {
  private readonly cells = new Map<string, WorkerCell>();

  constructor(readonly bounds: readonly number[]) {}

  cell(service: string, node: string, worker: number, protocol: "http" | "tcp"): WorkerCell {
    const key = `${service}\u0000${node}\u0000${worker}\u0000${protocol}`;
    let cell = this.cells.get(key);
    if (cell === undefined) {
      cell = new WorkerCell(service, node, String(worker), protocol, this.bounds);
      this.cells.set(key, cell);
    }
    return cell;
  }

  all(): IterableIterator<WorkerCell> {
    return this.cells.values();
  }
}
