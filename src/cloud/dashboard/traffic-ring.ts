// The last 15 minutes of mesh traffic, in the cloud's memory, from the nodes' traffic reports
// (src/protocol/traffic.ts; sent only while a dashboard watches). Counts go into the slots of a
// ring per (service, node) and per link (peer → node, direct or relayed), in two resolutions:
// 1-second slots for the last 90 s (what a change shows in within a report interval) and
// 5-second slots for the 15 minutes; a slot older than its ring is overwritten. A report covers
// the window since the node's previous one: its counts are spread over the slots of that window
// (reports and slots need not line up, so a steady load draws a steady line). What the traffic
// page draws is read from it: requests/s and errors/s per node, p50/p99 latency per service
// (histograms merged across nodes as they are recorded, into a total per service), requests/s,
// errors/s and bytes/s (from the peer, back to it) per link (a node from before sends requests
// only): 5-second steps, then the last minute in 1-second steps up to the newest report of each
// node (the second still filling is shown as the rate of its part reported so far). A chart gets
// the busiest MAX_CHART_SERIES - 1 series and the rest as one line (the total minus those), so
// reading it costs the same for 3 nodes or 1,000. Bounded: at most MAX_SERIES series of each kind
// (a report naming more is cut). Pure; the clock is passed in. Slot arithmetic: traffic-slots.ts.
import type { MessageOf } from "../../protocol/messages.ts";
import {
  FINE_SLOT_MS,
  FINE_SLOTS,
  latencyFor,
  MIN_PARTIAL_MS,
  newTier,
  othersOf,
  quantile,
  rank,
  readInto,
  type Series,
  SLOT_MS,
  SLOTS,
  type Step,
  spread,
  timeline,
} from "./traffic-slots.ts";

export { FINE_SHOWN_MS, FINE_SLOT_MS, MAX_CHART_SERIES, quantile, SLOT_MS, SLOTS } from "./traffic-slots.ts";

export const MAX_SERIES = 5000;
/** Link rates (the map's) are over this much of the recent past. */
export const LINK_RATE_MS = 10_000;

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
  /** Per service (and one for every link): every node's counts summed, as they were recorded. */
  private readonly totals = new Map<string, Series>();
  /** When the newest report of any node arrived (what a total covers up to). */
  private newest = 0;
  /** Called after each report is recorded (the dashboard's live feed tells the pages). */
  onRecord: (() => void) | undefined;

  record(node: string, report: MessageOf<"traffic">, receivedAt: number): void {
    if (this.reported.has(node) || this.reported.size < MAX_SERIES) this.reported.set(node, receivedAt);
    this.newest = Math.max(this.newest, receivedAt);
    const from = receivedAt - report.windowMs;
    for (const s of report.services) {
      const amounts = [s.requests, s.errors];
      // The node's series, and the service's total (every node's counts and latency merged).
      for (const series of [
        this.series(this.services, `${s.service}\u0000${node}`, node, 2),
        this.series(this.totals, `${s.service}\u0000`, "", 2),
      ]) {
        if (!series) continue;
        const latency = latencyFor(series, report.latencyBounds, s.latency);
        for (const tier of [series.coarse, series.fine]) spread(tier, from, receivedAt, amounts, latency);
      }
    }
    for (const l of report.links) {
      const amounts = [l.requests, l.errors ?? 0, l.bytesIn ?? 0, l.bytesOut ?? 0];
      for (const series of [
        this.series(this.links, `${l.peer}\u0000${node}\u0000${l.via}`, node, 4),
        this.series(this.totals, "\u0000links", "", 4),
      ]) {
        if (!series) continue;
        for (const tier of [series.coarse, series.fine]) spread(tier, from, receivedAt, amounts);
      }
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

  /** One service's last 15 minutes: the busiest nodes one by one, the rest as one line. */
  service(service: string, now: number): ServiceTraffic {
    const steps = timeline(now);
    const oldest = Math.floor(now / SLOT_MS) - SLOTS;
    const all: Series[] = [];
    for (const [key, series] of this.services) if (key.split("\u0000")[0] === service) all.push(series);
    const { shown, rest } = rank(all, 0, oldest);
    const nodes: ServiceTraffic["nodes"] = shown.map((series) => ({
      node: series.node,
      requests: this.read(series, steps, 0),
      errors: this.read(series, steps, 1),
    }));
    const total = this.totals.get(`${service}\u0000`);
    if (rest.length > 0 && total) {
      const requests = othersOf(
        this.read(total, steps, 0),
        nodes.map((n) => n.requests),
      );
      const errors = othersOf(
        this.read(total, steps, 1),
        nodes.map((n) => n.errors),
      );
      nodes.push({ node: `${rest.length} other nodes`, requests, errors });
    }
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    const p50: (number | null)[] = new Array(steps.length).fill(null);
    const p99: (number | null)[] = new Array(steps.length).fill(null);
    const bounds = total?.bounds;
    if (total && bounds) {
      steps.forEach((step, k) => {
        const tier = total[step.tier];
        const i = step.n % tier.slot.length;
        const cell = tier.slot[i] === step.n ? tier.latency?.[i] : undefined;
        if (!cell || (step.tier === "fine" && this.newest - step.start < MIN_PARTIAL_MS)) return;
        p50[k] = quantile(cell, bounds, 0.5);
        p99[k] = quantile(cell, bounds, 0.99);
      });
    }
    return { service, times: steps.map((s) => s.start), nodes, p50, p99 };
  }

  /** One metric of a series over `steps` (a total's coverage: the newest report of any node). */
  private read(series: Series, steps: readonly Step[], metric: number): (number | null)[] {
    const out: (number | null)[] = new Array(steps.length);
    const reported = series.node === "" ? this.newest : (this.reported.get(series.node) ?? 0);
    readInto(series, steps, metric, reported, out);
    return out;
  }

  /** Every link with traffic in the ring: its rates per step, the busiest one by one, the rest summed. */
  linkSeries(now: number): LinkTraffic {
    const steps = timeline(now);
    const oldest = Math.floor(now / SLOT_MS) - SLOTS;
    const all: { series: Series; key: string }[] = [];
    for (const [key, series] of this.links)
      if (series.coarse.slot.some((n) => n > oldest)) all.push({ series, key });
    const keys = new Map(all.map((a) => [a.series, a.key]));
    const { shown, rest } = rank(
      all.map((a) => a.series),
      0,
      oldest,
    );
    const links: LinkTraffic["links"] = shown.map((series) => {
      const [peer, , via] = (keys.get(series) ?? "").split("\u0000") as [string, string, "direct" | "relay"];
      const read = (m: number) => this.read(series, steps, m);
      return {
        peer,
        node: series.node,
        via,
        requests: read(0),
        errors: read(1),
        bytesIn: read(2),
        bytesOut: read(3),
      };
    });
    const total = this.totals.get("\u0000links");
    if (rest.length > 0 && total) {
      const others = (m: number, of: (l: LinkTraffic["links"][number]) => (number | null)[]) =>
        othersOf(this.read(total, steps, m), links.map(of));
      links.push({
        peer: `${rest.length} other links`,
        node: "",
        via: "direct",
        requests: others(0, (l) => l.requests),
        errors: others(1, (l) => l.errors),
        bytesIn: others(2, (l) => l.bytesIn),
        bytesOut: others(3, (l) => l.bytesOut),
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
