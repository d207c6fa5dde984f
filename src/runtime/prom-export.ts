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
  scrapeCounter(registry, name, help, [], () => [[{}, read()]]);
}

/**
 * A counter whose series are totals kept elsewhere and read at scrape time (e.g. each worker's
 * restarts, kept in SQLite): `read` returns [labels, total] pairs.
 */
export function scrapeCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<readonly [Partial<Record<L, string | number>>, number]>,
): void {
  const exported: PromCounter<L> = new PromCounter({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    collect() {
      exported.reset();
      for (const [labels, value] of read()) if (value >= 0) exported.inc(labels, value);
    },
  });
}

/**
 * A gauge whose series are computed at scrape time: `read` returns [labels, value] pairs (every
 * series it does not return is gone from this scrape).
 */
export function scrapeGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<readonly [Partial<Record<L, string | number>>, number]>,
): void {
  const gauge: Gauge<L> = new Gauge({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    collect() {
      gauge.reset();
      for (const [labels, value] of read()) gauge.set(labels, value);
    },
  });
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
