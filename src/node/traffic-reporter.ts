// Sends this node's mesh traffic to the cloud while a dashboard watches (src/protocol/traffic.ts):
// the retained watch signal turns the reports on (every intervalSeconds) and off (watching false,
// or its time to live ran out without a new signal). Each report carries what changed since the
// previous one: the mesh's per-worker counters (src/mesh/routing/worker-counters.ts) summed per
// service, and the requests, errors and bytes received through the tunnel per peer and path
// (PeerTraffic, counted by the mesh). Reading the counters costs nothing on the data path; a report is a few hundred
// bytes per service. A report that cannot be sent (not connected) is dropped, not queued: the next
// one covers its window.
import { OUTCOMES, type WorkerCell } from "../mesh/routing/worker-counters.ts";
import type { PeerLinkCounts } from "../mesh/service-traffic.ts";
import type { Body } from "../protocol/messages.ts";
import { parseWatchSignal, TRAFFIC_FORMAT, type WatchSignal } from "../protocol/traffic.ts";

type PeerEntry = PeerLinkCounts & { peer: string; via: "direct" | "relay" };

/**
 * Requests (HTTP) and connections (TCP) received through the tunnel, their errors and bytes, per
 * peer and path; counted by the mesh (service-traffic.ts) in the object `link` hands it, read by
 * reports.
 */
export class PeerTraffic {
  readonly counts = new Map<string, PeerEntry>();

  /** The counters of one peer and path (made on first use; the same object after). */
  link(peer: string, via: "direct" | "relay"): PeerLinkCounts {
    const key = `${peer}\u0000${via}`;
    let entry = this.counts.get(key);
    if (!entry) {
      entry = { peer, via, requests: 0, errors: 0, bytesIn: 0, bytesOut: 0 };
      this.counts.set(key, entry);
    }
    return entry;
  }
}

export type TrafficBody = Body<"traffic"> & { type: "traffic" };

/** Counter totals at one moment (what a report is the difference of). */
export interface TrafficTotals {
  services: Map<string, { requests: number; errors: number; latency: number[] }>;
  links: Map<string, PeerLinkCounts>;
}

/** Which outcome counts as no error. */
const OK_INDEX = OUTCOMES.indexOf("ok");

/** The totals of the counters now (sums over the cells of each service). */
export function totalsOf(cells: Iterable<WorkerCell>, peers: PeerTraffic): TrafficTotals {
  const services = new Map<string, { requests: number; errors: number; latency: number[] }>();
  for (const cell of cells) {
    let entry = services.get(cell.service);
    if (!entry) {
      entry = { requests: 0, errors: 0, latency: cell.buckets.map(() => 0) };
      services.set(cell.service, entry);
    }
    const target = entry;
    cell.outcomes.forEach((n, i) => {
      target.requests += n;
      if (i !== OK_INDEX) target.errors += n;
    });
    cell.buckets.forEach((n, i) => {
      target.latency[i] = (target.latency[i] ?? 0) + n;
    });
  }
  const links = new Map<string, PeerLinkCounts>();
  for (const [key, e] of peers.counts)
    links.set(key, { requests: e.requests, errors: e.errors, bytesIn: e.bytesIn, bytesOut: e.bytesOut });
  return { services, links };
}

/** What changed between two totals, as a report body (services and links that moved only). */
export function trafficDelta(
  before: TrafficTotals | undefined,
  now: TrafficTotals,
  peers: PeerTraffic,
  bounds: readonly number[],
  windowMs: number,
): TrafficBody {
  const services: TrafficBody["services"] = [];
  for (const [service, n] of now.services) {
    const b = before?.services.get(service);
    const requests = n.requests - (b?.requests ?? 0);
    if (requests <= 0) continue;
    const latency = n.latency.map((v, i) => Math.max(0, v - (b?.latency[i] ?? 0)));
    services.push({
      service,
      requests,
      errors: Math.max(0, n.errors - (b?.errors ?? 0)),
      ...(latency.some((v) => v > 0) ? { latency } : {}),
    });
  }
  const links: TrafficBody["links"] = [];
  for (const [key, n] of now.links) {
    const b = before?.links.get(key);
    const entry = peers.counts.get(key);
    const delta = {
      requests: Math.max(0, n.requests - (b?.requests ?? 0)),
      errors: Math.max(0, n.errors - (b?.errors ?? 0)),
      bytesIn: Math.max(0, n.bytesIn - (b?.bytesIn ?? 0)),
      bytesOut: Math.max(0, n.bytesOut - (b?.bytesOut ?? 0)),
    };
    if (entry && (delta.requests > 0 || delta.bytesIn > 0 || delta.bytesOut > 0))
      links.push({ peer: entry.peer, via: entry.via, ...delta });
  }
  return {
    type: "traffic",
    format: TRAFFIC_FORMAT,
    windowMs: Math.max(1, Math.min(3_600_000, Math.round(windowMs))),
    latencyBounds: [...bounds],
    services: services.slice(0, 2000),
    links: links.slice(0, 2000),
  };
}

export interface TrafficReporterOptions {
  cells: { all(): Iterable<WorkerCell>; readonly bounds: readonly number[] };
  peers: PeerTraffic;
  /** Sends a report up; false when it could not (not connected). */
  send: (body: TrafficBody) => boolean;
  now?: () => number;
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

export class TrafficReporter {
  private timer: ReturnType<typeof setInterval> | undefined;
  private until = 0;
  private last: { totals: TrafficTotals; at: number } | undefined;
  private intervalMs = 0;
  private readonly now: () => number;

  constructor(private readonly options: TrafficReporterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A retained watch signal arrived (an empty payload: nobody watches). */
  signal(payload: Buffer): void {
    const parsed = parseWatchSignal(payload);
    if (!parsed.ok) {
      this.options.onEvent?.("ignored a watch signal this agent cannot read", { reason: parsed.reason });
      this.stop();
      return;
    }
    this.apply(parsed.signal);
  }

  apply(signal: WatchSignal): void {
    if (!signal.watching) {
      this.stop();
      return;
    }
    this.until = this.now() + signal.ttlSeconds * 1000;
    const intervalMs = signal.intervalSeconds * 1000;
    if (this.timer && this.intervalMs === intervalMs) return;
    this.stop(false);
    this.intervalMs = intervalMs;
    // Counting starts now: the first report covers one interval, not everything since start.
    this.last = { totals: this.totals(), at: this.now() };
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref?.();
  }

  /** Sends one report (the timer calls it); stops when the signal's time ran out. */
  tick(): void {
    const now = this.now();
    if (!this.timer) return;
    if (now > this.until) {
      this.stop();
      return;
    }
    const totals = this.totals();
    const body = trafficDelta(
      this.last?.totals,
      totals,
      this.options.peers,
      this.options.cells.bounds,
      now - (this.last?.at ?? now),
    );
    this.last = { totals, at: now };
    this.options.send(body);
  }

  get reporting(): boolean {
    return this.timer !== undefined;
  }

  stop(forget = true): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (forget) this.last = undefined;
  }

  private totals(): TrafficTotals {
    return totalsOf(this.options.cells.all(), this.options.peers);
  }
}
