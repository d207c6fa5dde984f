// The last 15 minutes of mesh traffic, in the cloud's memory, from the nodes' traffic reports
// (src/protocol/traffic.ts; sent only while a dashboard watches). Counts go into 5-second slots of
// a ring per (service, node) and per link (peer → node, direct or relayed); a slot older than the
// ring is overwritten. What the traffic page draws is read from it: requests/s and errors/s per
// node, p50/p99 latency per service (histograms merged across nodes), requests/s per link. Bounded:
// at most MAX_SERIES series of each kind (a report naming more is cut). Pure; the clock is passed in.
import type { MessageOf } from "../../protocol/messages.ts";

export const SLOT_MS = 5000;
export const SLOTS = 180; // 15 minutes
export const MAX_SERIES = 5000;

interface Series {
  /** The slot number (time / SLOT_MS) each position holds, or -1. */
  slot: number[];
  a: number[];
  b: number[];
  latency?: number[][];
  bounds?: number[];
}

function newSeries(): Series {
  return { slot: new Array(SLOTS).fill(-1), a: new Array(SLOTS).fill(0), b: new Array(SLOTS).fill(0) };
}

/** Position of slot `n` in a series, cleared first if it held an older slot. */
function position(series: Series, n: number): number {
  const i = n % SLOTS;
  if (series.slot[i] !== n) {
    series.slot[i] = n;
    series.a[i] = 0;
    series.b[i] = 0;
    if (series.latency) series.latency[i] = [];
  }
  return i;
}

export interface ServiceTraffic {
  service: string;
  /** Slot start times (ms), oldest first: the last 15 minutes of complete slots. */
  times: number[];
  /** Per node: requests/s and errors/s per slot. */
  nodes: { node: string; requests: number[]; errors: number[] }[];
  /** Service-wide latency per slot, seconds; null where no samples. */
  p50: (number | null)[];
  p99: (number | null)[];
}

export interface LinkRate {
  peer: string;
  node: string;
  via: "direct" | "relay";
  /** Requests (connections, for TCP) per second over the last 30 s. */
  perSecond: number;
}

export class TrafficRing {
  private readonly services = new Map<string, Series>();
  private readonly links = new Map<string, Series>();

  record(node: string, report: MessageOf<"traffic">, receivedAt: number): void {
    const n = Math.floor(receivedAt / SLOT_MS);
    for (const s of report.services) {
      const series = this.series(this.services, `${s.service}\u0000${node}`);
      if (!series) continue;
      const i = position(series, n);
      series.a[i] = (series.a[i] ?? 0) + s.requests;
      series.b[i] = (series.b[i] ?? 0) + s.errors;
      if (s.latency && s.latency.length === report.latencyBounds.length + 1) {
        if (!series.bounds || series.bounds.join() !== report.latencyBounds.join()) {
          series.bounds = [...report.latencyBounds];
          series.latency = Array.from({ length: SLOTS }, () => []);
        }
        const cell = (series.latency as number[][])[i] as number[];
        s.latency.forEach((v, k) => {
          cell[k] = (cell[k] ?? 0) + v;
        });
      }
    }
    for (const l of report.links) {
      const series = this.series(this.links, `${l.peer}\u0000${node}\u0000${l.via}`);
      if (!series) continue;
      const i = position(series, n);
      series.a[i] = (series.a[i] ?? 0) + l.requests;
    }
  }

  /** Services with traffic in the ring. */
  serviceNames(now: number): string[] {
    const oldest = Math.floor(now / SLOT_MS) - SLOTS;
    const names = new Set<string>();
    for (const [key, series] of this.services)
      if (series.slot.some((s) => s > oldest)) names.add(key.split("\u0000")[0] as string);
    return [...names].sort();
  }

  /** One service's last 15 minutes (complete slots only: the current one is still filling). */
  service(service: string, now: number): ServiceTraffic {
    const last = Math.floor(now / SLOT_MS) - 1;
    const slots = Array.from({ length: SLOTS }, (_, k) => last - SLOTS + 1 + k);
    const perSecond = SLOT_MS / 1000;
    const nodes: ServiceTraffic["nodes"] = [];
    const merged: number[][] = slots.map(() => []);
    let bounds: number[] | undefined;
    for (const [key, series] of this.services) {
      const [name, node] = key.split("\u0000") as [string, string];
      if (name !== service) continue;
      const requests = slots.map((n) =>
        series.slot[n % SLOTS] === n ? (series.a[n % SLOTS] ?? 0) / perSecond : 0,
      );
      const errors = slots.map((n) =>
        series.slot[n % SLOTS] === n ? (series.b[n % SLOTS] ?? 0) / perSecond : 0,
      );
      nodes.push({ node, requests, errors });
      if (series.latency && series.bounds && (!bounds || bounds.join() === series.bounds.join())) {
        bounds = series.bounds;
        slots.forEach((n, k) => {
          if (series.slot[n % SLOTS] !== n) return;
          const cell = series.latency?.[n % SLOTS] ?? [];
          const target = merged[k] as number[];
          cell.forEach((v, b) => {
            target[b] = (target[b] ?? 0) + v;
          });
        });
      }
    }
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    return {
      service,
      times: slots.map((n) => n * SLOT_MS),
      nodes,
      p50: merged.map((h) => (bounds ? quantile(h, bounds, 0.5) : null)),
      p99: merged.map((h) => (bounds ? quantile(h, bounds, 0.99) : null)),
    };
  }

  /** Every link's requests/s over the last 30 s (complete slots). */
  linkRates(now: number): LinkRate[] {
    const last = Math.floor(now / SLOT_MS) - 1;
    const window = 6;
    const out: LinkRate[] = [];
    for (const [key, series] of this.links) {
      let sum = 0;
      for (let n = last - window + 1; n <= last; n++)
        if (series.slot[n % SLOTS] === n) sum += series.a[n % SLOTS] ?? 0;
      if (sum === 0) continue;
      const [peer, node, via] = key.split("\u0000") as [string, string, "direct" | "relay"];
      out.push({ peer, node, via, perSecond: sum / ((window * SLOT_MS) / 1000) });
    }
    return out;
  }

  private series(map: Map<string, Series>, key: string): Series | undefined {
    let series = map.get(key);
    if (!series) {
      if (map.size >= MAX_SERIES) return undefined;
      series = newSeries();
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
