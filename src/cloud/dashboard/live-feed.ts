// What tells open dashboards that what they show has changed. While at least one browser watches,
// the feed looks at the store once a second: a digest of the nodes (phase, online, plan revisions)
// and of the workers' statuses, and the newest event id; the control plane's events wake it sooner
// (50 ms after the first of a burst).
// When a digest changed it tells every watcher which topics changed ("nodes", "workers",
// "events"); each browser then refetches the part of its page that shows them. Every 10 s "nodes"
// is sent anyway (last-seen times and usage move without a phase change). A node's traffic report
// (trafficArrived) sends "traffic", at most once per `trafficMs` (the first of a quiet spell at
// once): the traffic page refetches its charts, the map its links' rates. Nobody watching: no work.
import { createHash } from "node:crypto";
import type { Store } from "../../store/store.ts";
import type { ControlPlane } from "../control-plane.ts";

/** What a page shows, as the feed names it. */
export type Topic = "nodes" | "workers" | "events" | "traffic";

export type Watcher = (topics: Topic[]) => void;

export interface LiveFeedOptions {
  store: Store;
  plane: ControlPlane;
  intervalMs?: number;
  /** How often "nodes" is sent without a change (last seen, usage); default 10 s. */
  refreshMs?: number;
  /** Least time between two "traffic" changes; default 500 ms. */
  trafficMs?: number;
  /** Someone started watching (true) or the last watcher left (false): the nodes' traffic reports. */
  onWatching?: (watching: boolean) => void;
}

interface Digests {
  nodes: string;
  workers: string;
  events: number;
}

export class LiveFeed {
  private readonly watchers = new Set<Watcher>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private last: Digests | undefined;
  private lastRefresh = 0;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private trafficTimer: ReturnType<typeof setTimeout> | undefined;
  private lastTraffic = 0;
  /** How many "traffic" changes went out (what the traffic data's shared answer is keyed by). */
  trafficChanges = 0;
  /** Events wake the feed, once for a burst (a reconnect storm records a thousand at once). */
  private readonly onEvent = () => {
    this.wakeTimer ??= setTimeout(() => {
      this.wakeTimer = undefined;
      this.check();
    }, 50);
  };

  constructor(private readonly options: LiveFeedOptions) {}

  /** Starts telling `watcher` about changes; returns how to stop. */
  watch(watcher: Watcher): () => void {
    this.watchers.add(watcher);
    if (this.watchers.size === 1) this.start();
    return () => {
      if (!this.watchers.delete(watcher)) return;
      if (this.watchers.size === 0) this.stop();
    };
  }

  get watching(): number {
    return this.watchers.size;
  }

  /** Compares the store with what watchers were last told about; tells them what changed. */
  check(now = Date.now()): void {
    if (this.watchers.size === 0) return;
    const next = digests(this.options.store);
    const last = this.last;
    this.last = next;
    const topics: Topic[] = [];
    if (last) {
      if (last.nodes !== next.nodes) topics.push("nodes");
      if (last.workers !== next.workers) topics.push("workers");
      if (last.events !== next.events) topics.push("events");
    }
    if (!topics.includes("nodes") && now - this.lastRefresh >= (this.options.refreshMs ?? 10_000)) {
      topics.push("nodes");
    }
    if (topics.includes("nodes")) this.lastRefresh = now;
    if (!last || topics.length === 0) return;
    for (const watcher of [...this.watchers]) watcher(topics);
  }

  /** A node's traffic report was recorded: "traffic" goes out, at once or when `trafficMs` have passed. */
  trafficArrived(now = Date.now()): void {
    if (this.watchers.size === 0 || this.trafficTimer) return;
    const wait = Math.max(0, this.lastTraffic + (this.options.trafficMs ?? 500) - now);
    this.trafficTimer = setTimeout(() => {
      this.trafficTimer = undefined;
      this.lastTraffic = Date.now();
      this.trafficChanges++;
      for (const watcher of [...this.watchers]) watcher(["traffic"]);
    }, wait);
    this.trafficTimer.unref?.();
  }

  close(): void {
    this.watchers.clear();
    this.stop();
  }

  private start(): void {
    this.last = digests(this.options.store);
    this.lastRefresh = Date.now();
    this.timer = setInterval(() => this.check(), this.options.intervalMs ?? 1000);
    this.timer.unref?.();
    this.options.plane.events.on("event", this.onEvent);
    this.options.onWatching?.(true);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
    this.options.plane.events.off("event", this.onEvent);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.trafficTimer) clearTimeout(this.trafficTimer);
    this.trafficTimer = undefined;
    this.options.onWatching?.(false);
  }
}

/** The digests of what the dashboard shows (what changes often but means nothing is left out). */
export function digests(store: Store): Digests {
  const db = store.db;
  const nodes = createHash("sha1");
  for (const row of db
    .query<Record<string, unknown>, []>(
      `SELECT n.name, n.phase, n.online, p.revision, p.applied_revision
       FROM nodes n LEFT JOIN plans p ON p.node = n.name ORDER BY n.name`,
    )
    .values())
    nodes.update(JSON.stringify(row));
  const workers = createHash("sha1");
  for (const row of db
    .query<Record<string, unknown>, []>(
      `SELECT service, node, idx, phase, ready, restarts, message, generation FROM worker_status
       ORDER BY service, node, idx`,
    )
    .values())
    workers.update(JSON.stringify(row));
  // Plans: a new service's workers are pending (no status yet) but shown.
  for (const row of db
    .query<Record<string, unknown>, []>("SELECT node, revision FROM plans ORDER BY node")
    .values())
    workers.update(JSON.stringify(row));
  const events = db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM events").get()?.id ?? 0;
  return { nodes: nodes.digest("hex"), workers: workers.digest("hex"), events };
}
