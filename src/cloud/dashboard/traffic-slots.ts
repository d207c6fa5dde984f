// The slot arithmetic of the traffic ring (traffic-ring.ts): a series' two resolutions (tiers) of
// slots, a report's counts spread over the slots of its window, the time axis the charts use, one
// metric read out per step, the busiest series picked, and the quantile of a histogram. Pure.

export const SLOT_MS = 5000;
export const SLOTS = 180; // 15 minutes
export const FINE_SLOT_MS = 1000;
export const FINE_SLOTS = 90;
/** The recent past shown in 1-second steps (the coarse slots before it), a multiple of SLOT_MS. */
export const FINE_SHOWN_MS = 60_000;
/** Most lines a chart gets: the busiest series, then one line summing the rest. */
export const MAX_CHART_SERIES = 10;
/** A second reported for less than this is not drawn yet (its rate would be noise). */
export const MIN_PARTIAL_MS = 200;

/** One resolution of a series: slot numbers (time / ms; -1 empty) and the metrics per position. */
export interface Tier {
  ms: number;
  slot: number[];
  values: number[][];
  latency?: number[][];
}

export interface Series {
  node: string;
  coarse: Tier;
  fine: Tier;
  bounds?: number[];
}

export function newTier(ms: number, size: number, metrics: number): Tier {
  return {
    ms,
    slot: new Array(size).fill(-1),
    values: Array.from({ length: metrics }, () => new Array(size).fill(0)),
  };
}

/** Position of slot `n` in a tier, cleared first if it held an older slot. */
export function position(tier: Tier, n: number): number {
  const i = n % tier.slot.length;
  if (tier.slot[i] !== n) {
    tier.slot[i] = n;
    for (const values of tier.values) values[i] = 0;
    if (tier.latency) tier.latency[i] = [];
  }
  return i;
}

/** Adds `amounts` (and a latency histogram) counted over [from, to) to the slots of that window. */
export function spread(
  tier: Tier,
  from: number,
  to: number,
  amounts: readonly number[],
  latency?: readonly number[],
) {
  const start = Math.max(from, to - tier.ms * (tier.slot.length - 1));
  const span = to - start;
  if (span <= 0) return;
  for (let n = Math.floor(start / tier.ms); n * tier.ms < to; n++) {
    const overlap = Math.min(to, (n + 1) * tier.ms) - Math.max(start, n * tier.ms);
    if (overlap <= 0) continue;
    const share = overlap / span;
    const i = position(tier, n);
    amounts.forEach((v, k) => {
      const values = tier.values[k] as number[];
      values[i] = (values[i] ?? 0) + v * share;
    });
    if (latency && tier.latency) {
      const cell = tier.latency[i] ?? [];
      tier.latency[i] = cell;
      latency.forEach((v, b) => {
        cell[b] = (cell[b] ?? 0) + v * share;
      });
    }
  }
}

/** One point of the time axis: a slot of one tier. */
export interface Step {
  tier: "coarse" | "fine";
  n: number;
  start: number;
  ms: number;
}

/** The time axis: the 15 minutes in 5-second steps, the last minute or so in 1-second ones. */
export function timeline(now: number): Step[] {
  const current = Math.floor(now / SLOT_MS);
  const boundary = current - FINE_SHOWN_MS / SLOT_MS;
  const steps: Step[] = [];
  for (let n = current - SLOTS; n < boundary; n++)
    steps.push({ tier: "coarse", n, start: n * SLOT_MS, ms: SLOT_MS });
  const last = Math.floor(now / FINE_SLOT_MS);
  for (let n = (boundary * SLOT_MS) / FINE_SLOT_MS; n <= last; n++)
    steps.push({ tier: "fine", n, start: n * FINE_SLOT_MS, ms: FINE_SLOT_MS });
  return steps;
}

/**
 * One metric of a series at each step, per second, into `out`: 0 where nothing was counted; for
 * a second the node has not reported all of yet, the rate of its reported part, or null (nothing
 * to say yet). Plain loops: it runs for every series drawn.
 */
export function readInto(
  series: Series,
  steps: readonly Step[],
  metric: number,
  reported: number,
  out: (number | null)[],
): void {
  const { coarse, fine } = series;
  const coarseValues = coarse.values[metric] as number[];
  const fineValues = fine.values[metric] as number[];
  for (let k = 0; k < steps.length; k++) {
    const step = steps[k] as Step;
    let v: number | null;
    if (step.tier === "fine") {
      const i = step.n % FINE_SLOTS;
      const raw = fine.slot[i] === step.n ? (fineValues[i] as number) : 0;
      const covered = reported - step.start;
      v = covered >= FINE_SLOT_MS ? raw : covered >= MIN_PARTIAL_MS ? raw / (covered / 1000) : null;
    } else {
      const i = step.n % SLOTS;
      v = (coarse.slot[i] === step.n ? (coarseValues[i] as number) : 0) / (SLOT_MS / 1000);
    }
    out[k] = v;
  }
}

/** A series' metric over its live coarse slots: what ranks the busiest. */
export function weightOf(series: Series, metric: number, oldest: number): number {
  let sum = 0;
  const values = series.coarse.values[metric] as number[];
  for (let i = 0; i < SLOTS; i++) if ((series.coarse.slot[i] as number) > oldest) sum += values[i] as number;
  return sum;
}

/**
 * The series to draw one by one (at most MAX_CHART_SERIES - 1 busiest when there are more, by
 * `metric`), and the rest (summed into one line).
 */
export function rank(all: Series[], metric: number, oldest: number): { shown: Series[]; rest: Series[] } {
  if (all.length <= MAX_CHART_SERIES) return { shown: all, rest: [] };
  const ranked = all.map((s) => ({ s, w: weightOf(s, metric, oldest) })).sort((a, b) => b.w - a.w);
  return {
    shown: ranked.slice(0, MAX_CHART_SERIES - 1).map((r) => r.s),
    rest: ranked.slice(MAX_CHART_SERIES - 1).map((r) => r.s),
  };
}

/**
 * The latency histogram of a report's entry for `series`, once its bounds are the series' (a
 * series takes the bounds of its first histogram; a total skips nodes with other bounds).
 */
export function latencyFor(
  series: Series,
  bounds: readonly number[],
  latency: readonly number[] | undefined,
): readonly number[] | undefined {
  if (!latency || latency.length !== bounds.length + 1) return undefined;
  if (series.bounds && series.bounds.join() === bounds.join()) return latency;
  if (series.bounds && series.node === "") return undefined;
  series.bounds = [...bounds];
  series.coarse.latency = Array.from({ length: SLOTS }, () => []);
  series.fine.latency = Array.from({ length: FINE_SLOTS }, () => []);
  return latency;
}

/** The total minus the series shown one by one, step by step (null where the total is; not below 0). */
export function othersOf(total: (number | null)[], shown: (number | null)[][]): (number | null)[] {
  return total.map((t, k) => {
    if (t === null) return null;
    let rest = t;
    for (const s of shown) rest -= s[k] ?? 0;
    return Math.max(0, rest);
  });
}

/**
 * The q-quantile of a histogram (counts per bucket; `bounds` the buckets' upper bounds, the last
 * bucket above them all), interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile does; null without samples. Above the last bound: the last bound.
 */
export function quantile(counts: ArrayLike<number>, bounds: readonly number[], q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (seen + c >= rank && c > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = bounds[i] as number;
      return lower + ((upper - lower) * (rank - seen)) / c;
    }
    seen += c;
  }
  return bounds[bounds.length - 1] ?? null;
}
