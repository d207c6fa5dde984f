// A Prometheus histogram whose samples live in WorkerCells (worker-counters.ts): registered on a
// prom-client Registry like any metric, it exports the cells' buckets, sum and count when the
// registry is scraped, in the shape prom-client's own Histogram exports (cumulative `_bucket` series
// with `le` first, then `_sum` and `_count`). Nothing is hashed or allocated per sample.
import type { Metric, Registry } from "prom-client";
import type { WorkerCell, WorkerCells } from "./worker-counters.ts";

export const cellLabels = (cell: WorkerCell) => ({
  service: cell.service,
  node: cell.node,
  worker: cell.worker,
});

interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
}

export class CellHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly cells: WorkerCells,
    registry: Registry,
    /** Awaited before the cells are read (the mesh threads post theirs). */
    private readonly before?: () => Promise<void> | undefined,
  ) {
    // prom-client reads name, help, type, aggregator and get()/getForPromString() of a metric.
    registry.registerMetric(this as unknown as Metric);
  }

  /** For Registry.metrics(): labels of the cell as shared labels (formatted after `le`). */
  async getForPromString() {
    await this.before?.();
    const values: ExportedValue[] = [];
    const { bounds } = this.cells;
    for (const cell of this.cells.all()) {
      if (cell.latencyCount === 0) continue;
      const sharedLabels = cellLabels(cell);
      const bucket = `${this.name}_bucket`;
      let acc = 0;
      bounds.forEach((le, i) => {
        acc += cell.buckets[i] ?? 0;
        values.push({ metricName: bucket, labels: { le }, sharedLabels, value: acc });
      });
      values.push({ metricName: bucket, labels: { le: "+Inf" }, sharedLabels, value: cell.latencyCount });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels, value: cell.latencySum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels, value: cell.latencyCount });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** For Registry.getMetricsAsJSON(): one label set per value. */
  async get() {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ metricName, labels, sharedLabels, value }) => ({
        metricName,
        labels: { ...labels, ...sharedLabels },
        value,
      })),
    };
  }
}
