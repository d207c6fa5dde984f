// The last 15 minutes of mesh traffic, in the cloud's memory, from the nodes' traffic reports
// (src/protocol/traffic.ts; sent only while a dashboard watches). Counts go into 5-second slots of
// a ring per (service, node) and per link (peer → node, direct or relayed); a slot older than the
// ring is overwritten. What the traffic page draws is read from it: requests/s and errors/s per
// node, p50/p99 latency per service (histograms merged across nodes), requests/s, errors/s and
// bytes/s (from the peer, back to it) per link (a node from before sends requests only). Bounded:
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
  /** Links only: bytes from the peer, bytes back to it. */
  c?: number[];
  d?: number[];
  latency?: number[][];
  bounds?: number[];
}

function newSeries(bytes = false): Series {
  const zeros = () => new Array(SLOTS).fill(0);
  return {
    slot: new Array(SLOTS).fill(-1),
    a: zeros(),
    b: zeros(),
    ...(bytes ? { c: zeros(), d: zeros() } : {}),
  };
}

/** Position of slot `n` in a series, cleared first if it held an older slot. */
function position(series: Series, n: number): number {
  const i = n % SLOTS;
  if (series.slot[i] !== n) {
    series.slot[i] = n;
    series.a[i] = 0;
    series.b[i] = 0;
    if (series.c) series.c[i] = 0;
    if (series.d) series.d[i] = 0;
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

export interface LinkTraffic {
  /** Slot start times (ms), oldest first. */
  times: number[];
  /** Per link (peer → node, by path): per slot, requests/s, errors/s, bytes/s from the peer and back. */
  links: {
    peer: string;
    node: string;
    via: "direct" | "relay";
    requests: number[];
    errors: number[];
    bytesIn: number[];
    bytesOut: number[];
  }[];
}

export interface LinkRate {
  peer: string;
  node: string;
  via: "direct" | "relay";
  /** Requests (connections, for TCP) per second over the last 30 s. */
  perSecond: number;
  errorsPerSecond: number;
  /** Bytes per second from the peer (in) and back to it (out). */
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
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
      const series = this.series(this.links, `${l.peer}\u0000${node}\u0000${l.via}`, true);
      if (!series) continue;
      const i = position(series, n);
      series.a[i] = (series.a[i] ?? 0) + l.requests;
      series.b[i] = (series.b[i] ?? 0) + (l.errors ?? 0);
      if (series.c) series.c[i] = (series.c[i] ?? 0) + (l.bytesIn ?? 0);
      if (series.d) series.d[i] = (series.d[i] ?? 0) + (l.bytesOut ?? 0);
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
    const slots = completeSlots(now);
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

  /** Every link with traffic in the ring: its rates per slot, last 15 minutes (complete slots). */
  linkSeries(now: number): LinkTraffic {
    const slots = completeSlots(now);
    const perSecond = SLOT_MS / 1000;
    const links: LinkTraffic["links"] = [];
    for (const [key, series] of this.links) {
      if (!slots.some((n) => series.slot[n % SLOTS] === n)) continue;
      const read = (values: number[] | undefined) =>
        slots.map((n) => (series.slot[n % SLOTS] === n ? (values?.[n % SLOTS] ?? 0) / perSecond : 0));
      const [peer, node, via] = key.split("\u0000") as [string, string, "direct" | "relay"];
      links.push({
        peer,
        node,
        via,
        requests: read(series.a),
        errors: read(series.b),
        bytesIn: read(series.c),
        bytesOut: read(series.d),
      });
    }
    links.sort((a, b) => `${a.peer} ${a.node} ${a.via}`.localeCompare(`${b.peer} ${b.node} ${b.via}`));
    return { times: slots.map((n) => n * SLOT_MS), links };
  }

  /** Every link's rates over the last 30 s (complete slots). */
  linkRates(now: number): LinkRate[] {
    const last = Math.floor(now / SLOT_MS) - 1;
    const window = 6;
    const seconds = (window * SLOT_MS) / 1000;
    const out: LinkRate[] = [];
    for (const [key, series] of this.links) {
      const sum = [0, 0, 0, 0];
      for (let n = last - window + 1; n <= last; n++) {
        const i = n % SLOTS;
        if (series.slot[i] !== n) continue;
        [series.a, series.b, series.c, series.d].forEach((values, k) => {
          sum[k] = (sum[k] ?? 0) + (values?.[i] ?? 0);
        });
      }
      const [requests = 0, errors = 0, bytesIn = 0, bytesOut = 0] = sum;
      if (requests + bytesIn + bytesOut === 0) continue;
      const [peer, node, via] = key.split("\u0000") as [string, string, "direct" | "relay"];
      out.push({
        peer,
        node,
        via,
        perSecond: requests / seconds,
        errorsPerSecond: errors / seconds,
        bytesInPerSecond: bytesIn / seconds,
        bytesOutPerSecond: bytesOut / seconds,
      });
    }
    return out;
  }

  private series(map: Map<string, Series>, key: string, bytes = false): Series | undefined {
    let series = map.get(key);
    if (!series) {
      if (map.size >= MAX_SERIES) return undefined;
      series = newSeries(bytes);
      map.set(key, series);
    }
    return series;
  }
}

/** The slot numbers of the last 15 minutes, oldest first, complete ones only (not the one filling). */
function completeSlots(now: number): number[] {
  const last = Math.floor(now / SLOT_MS) - 1;
  return Array.from({ length: SLOTS }, (_, k) => last - SLOTS + 1 + k);
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
