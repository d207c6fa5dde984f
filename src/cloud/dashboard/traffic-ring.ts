// The last 15 minutes of mesh traffic, in the cloud's memory, from the nodes' traffic reports
// (src/protocol/traffic.ts; sent only while a dashboard watches). Counts go into the slots of a
// ring per (service, node) and per link (peer → node, direct or relayed), in two resolutions:
// 1-second slots for the last 90 s (what a change shows in within a report interval) and
// 5-second slots for the 15 minutes; a slot older than its ring is overwritten. A report covers
// the window since the node's previous one: its counts are spread over the slots of that window
// (reports and slots need not line up, so a steady load draws a steady line). What the traffic
// page draws is read from it: requests/s and errors/s per node, p50/p99 latency per service
// (histograms merged across nodes), requests/s, errors/s and bytes/s (from the peer, back to it)
// per link (a node from before sends requests only): 5-second steps, then the last minute in
// 1-second steps up to the newest report of each node (the second still filling is shown as the
// rate of its part reported so far). Bounded: at most MAX_SERIES series of each kind (a report
// naming more is cut). Pure; the clock is passed in.
import type { MessageOf } from "../../protocol/messages.ts";

export const SLOT_MS = 5000;
export const SLOTS = 180; // 15 minutes
export const FINE_SLOT_MS = 1000;
export const FINE_SLOTS = 90;
/** The recent past shown in 1-second steps (the coarse slots before it), a multiple of SLOT_MS. */
export const FINE_SHOWN_MS = 60_000;
export const MAX_SERIES = 5000;
/** Link rates (the map's) are over this much of the recent past. */
export const LINK_RATE_MS = 10_000;
/** A second reported for less than this is not drawn yet (its rate would be noise). */
const MIN_PARTIAL_MS = 200;

/** One resolution of a series: slot numbers (time / ms; -1 empty) and the metrics per position. */
interface Tier {
  ms: number;
  slot: number[];
  values: number[][];
  latency?: number[][];
}

interface Series {
  node: string;
  coarse: Tier;
  fine: Tier;
  bounds?: number[];
}

function newTier(ms: number, size: number, metrics: number): Tier {
  return {
    ms,
    slot: new Array(size).fill(-1),
    values: Array.from({ length: metrics }, () => new Array(size).fill(0)),
  };
}

/** Position of slot `n` in a tier, cleared first if it held an older slot. */
function position(tier: Tier, n: number): number {
  const i = n % tier.slot.length;
  if (tier.slot[i] !== n) {
    tier.slot[i] = n;
    for (const values of tier.values) values[i] = 0;
    if (tier.latency) tier.latency[i] = [];
  }
  return i;
}

/** Adds `amounts` (and a latency histogram) counted over [from, to) to the slots of that window. */
function spread(
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
interface Step {
  tier: "coarse" | "fine";
  n: number;
  start: number;
  ms: number;
}

/** The time axis: the 15 minutes in 5-second steps, the last minute or so in 1-second ones. */
function timeline(now: number): Step[] {
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
 * A metric of a series at a step, per second: 0 where nothing was counted; for a second the
 * node has not reported all of yet, the rate of its reported part, or null (nothing to say yet).
 */
function rateAt(series: Series, step: Step, metric: number, reported: number): number | null {
  const tier = series[step.tier];
  const i = step.n % tier.slot.length;
  const value = tier.slot[i] === step.n ? (tier.values[metric]?.[i] ?? 0) : 0;
  const covered = Math.min(step.ms, reported - step.start);
  if (step.tier === "fine" && covered < step.ms)
    return covered >= MIN_PARTIAL_MS ? value / (covered / 1000) : null;
  return value / (step.ms / 1000);
}

export interface ServiceTraffic {
  service: string;
  /** Step start times (ms), oldest first: 5-second steps, then 1-second ones for the last minute. */
  times: number[];
  /** Per node: requests/s and errors/s per step (null: not reported yet). */
  nodes: { node: string; requests: (number | null)[]; errors: (number | null)[] }[];
  /** Service-wide latency per step, seconds; null where no samples. */
  p50: (number | null)[];
  p99: (number | null)[];
}

export interface LinkTraffic {
  /** Step start times (ms), oldest first, as ServiceTraffic's. */
  times: number[];
  /** Per link (peer → node, by path): per step, requests/s, errors/s, bytes/s from the peer and back. */
  links: {
    peer: string;
    node: string;
    via: "direct" | "relay";
    requests: (number | null)[];
    errors: (number | null)[];
    bytesIn: (number | null)[];
    bytesOut: (number | null)[];
  }[];
}

export interface LinkRate {
  peer: string;
  node: string;
  via: "direct" | "relay";
  /** Requests (connections, for TCP) per second over the last LINK_RATE_MS reported. */
  perSecond: number;
  errorsPerSecond: number;
  /** Bytes per second from the peer (in) and back to it (out). */
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
}

export class TrafficRing {
  private readonly services = new Map<string, Series>();
  private readonly links = new Map<string, Series>();
  /** Per node, when its newest report arrived (what its counts cover up to). */
  private readonly reported = new Map<string, number>();
  /** Called after each report is recorded (the dashboard's live feed tells the pages). */
  onRecord: (() => void) | undefined;

  record(node: string, report: MessageOf<"traffic">, receivedAt: number): void {
    if (this.reported.has(node) || this.reported.size < MAX_SERIES) this.reported.set(node, receivedAt);
    const from = receivedAt - report.windowMs;
    for (const s of report.services) {
      const series = this.series(this.services, `${s.service}\u0000${node}`, node, 2);
      if (!series) continue;
      let latency: number[] | undefined;
      if (s.latency && s.latency.length === report.latencyBounds.length + 1) {
        if (!series.bounds || series.bounds.join() !== report.latencyBounds.join()) {
          series.bounds = [...report.latencyBounds];
          series.coarse.latency = Array.from({ length: SLOTS }, () => []);
          series.fine.latency = Array.from({ length: FINE_SLOTS }, () => []);
        }
        latency = s.latency;
      }
      for (const tier of [series.coarse, series.fine])
        spread(tier, from, receivedAt, [s.requests, s.errors], latency);
    }
    for (const l of report.links) {
      const series = this.series(this.links, `${l.peer}\u0000${node}\u0000${l.via}`, node, 4);
      if (!series) continue;
      const amounts = [l.requests, l.errors ?? 0, l.bytesIn ?? 0, l.bytesOut ?? 0];
      for (const tier of [series.coarse, series.fine]) spread(tier, from, receivedAt, amounts);
    }
    this.onRecord?.();
  }

  /** Services with traffic in the ring. */
  serviceNames(now: number): string[] {
    const oldest = Math.floor(now / SLOT_MS) - SLOTS;
    const names = new Set<string>();
    for (const [key, series] of this.services)
      if (series.coarse.slot.some((s) => s > oldest)) names.add(key.split("\u0000")[0] as string);
    return [...names].sort();
  }

  /** One service's last 15 minutes. */
  service(service: string, now: number): ServiceTraffic {
    const steps = timeline(now);
    const nodes: ServiceTraffic["nodes"] = [];
    const merged: number[][] = steps.map(() => []);
    const known = steps.map(() => false);
    let bounds: number[] | undefined;
    for (const [key, series] of this.services) {
      if (key.split("\u0000")[0] !== service) continue;
      const reported = this.reported.get(series.node) ?? 0;
      const requests = steps.map((step) => rateAt(series, step, 0, reported));
      nodes.push({
        node: series.node,
        requests,
        errors: steps.map((step) => rateAt(series, step, 1, reported)),
      });
      if (!series.bounds || (bounds && bounds.join() !== series.bounds.join())) continue;
      bounds = series.bounds;
      steps.forEach((step, k) => {
        const tier = series[step.tier];
        const i = step.n % tier.slot.length;
        if (tier.slot[i] !== step.n || requests[k] === null) return;
        known[k] = true;
        const target = merged[k] as number[];
        (tier.latency?.[i] ?? []).forEach((v, b) => {
          target[b] = (target[b] ?? 0) + v;
        });
      });
    }
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    const q = (p: number) => merged.map((h, k) => (bounds && known[k] ? quantile(h, bounds, p) : null));
    return { service, times: steps.map((s) => s.start), nodes, p50: q(0.5), p99: q(0.99) };
  }

  /** Every link with traffic in the ring: its rates per step, last 15 minutes. */
  linkSeries(now: number): LinkTraffic {
    const steps = timeline(now);
    const oldest = Math.floor(now / SLOT_MS) - SLOTS;
    const links: LinkTraffic["links"] = [];
    for (const [key, series] of this.links) {
      if (!series.coarse.slot.some((s) => s > oldest)) continue;
      const reported = this.reported.get(series.node) ?? 0;
      const read = (metric: number) => steps.map((step) => rateAt(series, step, metric, reported));
      const [peer, , via] = key.split("\u0000") as [string, string, "direct" | "relay"];
      links.push({
        peer,
        node: series.node,
        via,
        requests: read(0),
        errors: read(1),
        bytesIn: read(2),
        bytesOut: read(3),
      });
    }
    links.sort((a, b) => `${a.peer} ${a.node} ${a.via}`.localeCompare(`${b.peer} ${b.node} ${b.via}`));
    return { times: steps.map((s) => s.start), links };
  }

  /** Every link's rates over the last LINK_RATE_MS its node reported (links without traffic left out). */
  linkRates(now: number): LinkRate[] {
    const from = Math.floor((now - LINK_RATE_MS) / FINE_SLOT_MS);
    const out: LinkRate[] = [];
    for (const [key, series] of this.links) {
      const reported = Math.min(now, this.reported.get(series.node) ?? 0);
      const seconds = (reported - from * FINE_SLOT_MS) / 1000;
      if (seconds <= 0) continue;
      const sum = [0, 0, 0, 0];
      const tier = series.fine;
      for (let n = from; n * FINE_SLOT_MS < reported; n++) {
        const i = n % FINE_SLOTS;
        if (tier.slot[i] !== n) continue;
        tier.values.forEach((values, k) => {
          sum[k] = (sum[k] ?? 0) + (values[i] ?? 0);
        });
      }
      const [requests = 0, errors = 0, bytesIn = 0, bytesOut = 0] = sum;
      if (requests + bytesIn + bytesOut === 0) continue;
      const [peer, , via] = key.split("\u0000") as [string, string, "direct" | "relay"];
      out.push({
        peer,
        node: series.node,
        via,
        perSecond: requests / seconds,
        errorsPerSecond: errors / seconds,
        bytesInPerSecond: bytesIn / seconds,
        bytesOutPerSecond: bytesOut / seconds,
      });
    }
    return out;
  }

  private series(map: Map<string, Series>, key: string, node: string, metrics: number): Series | undefined {
    let series = map.get(key);
    if (!series) {
      if (map.size >= MAX_SERIES) return undefined;
      series = {
        node,
        coarse: newTier(SLOT_MS, SLOTS, metrics),
        fine: newTier(FINE_SLOT_MS, FINE_SLOTS, metrics),
      };
      map.set(key, series);
    }
    return series;
  }
}

/**
 * The q-quantile of a histogram (counts per bucket; `bounds` the buckets' upper bounds, the last
 * bucket above them all), interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile does; null without samples. Above the last bound: the last bound.
 */
export function quantile(counts: readonly number[], bounds: readonly number[], q: number): number | null {
  const total = counts.reduce((s, v) => s + (v ?? 0), 0);
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
