// Exports levee's plain label counters (counters.ts: bumped on the hot path without prom-client)
// and scrape-time numbers as prom-client metrics on a Registry: the value is read when the
// registry is collected, so nothing is computed between scrapes.
import { collectDefaultMetrics, Gauge, Counter as PromCounter, type Registry } from "prom-client";
import type { Counter } from "./counters.ts";

/** A counters.ts Counter as a Prometheus counter with its one label (copied at scrape time). */
export function exportCounter(registry: Registry, counter: Counter, help: string): void {
  const exported: PromCounter<string> = new PromCounter({
    name: counter.name,
    help,
    labelNames: [counter.label],
    registers: [registry],
    collect() {
      exported.reset();
      for (const [value, count] of Object.entries(counter.snapshot()))
        if (count > 0) exported.inc({ [counter.label]: value }, count);
    },
  });
}

/** A counter without labels whose running total is read at scrape time (e.g. messages sent). */
export function totalCounter(registry: Registry, name: string, help: string, read: () => number): void {
  scraped(registry, "counter", name, help, [], () => [[{}, read()]]);
}

/** [labels, value] pairs, read at scrape time. */
type Series<L extends string> = Iterable<readonly [Partial<Record<L, string | number>>, number]>;

/**
 * A metric whose series are read at scrape time: a gauge computed then (a series `read` does not
 * return is gone), or a counter whose totals are kept elsewhere (e.g. each worker's restarts, kept
 * in SQLite).
 */
export function scraped<L extends string>(
  registry: Registry,
  type: "counter" | "gauge",
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Series<L>,
): void {
  const collect = () => {
    metric.reset();
    for (const [labels, value] of read()) {
      if (metric instanceof Gauge) metric.set(labels, value);
      else if (value >= 0) metric.inc(labels, value);
    }
  };
  const options = { name, help, labelNames: [...labelNames], registers: [registry], collect };
  const metric: Gauge<L> | PromCounter<L> = type === "gauge" ? new Gauge(options) : new PromCounter(options);
}

/**
 * prom-client's default metrics of the process (CPU, memory, file descriptors, event loop, GC),
 * without the three gauges it names `_total` (nodejs_active_{handles,requests,resources}_total),
 * which `promtool check metrics` rejects: their per-type gauges without the suffix stay.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of ["handles", "requests", "resources"])
    registry.removeSingleMetric(`nodejs_active_${name}_total`);
}
