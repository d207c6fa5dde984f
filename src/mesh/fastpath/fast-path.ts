// The fast path's lifecycle on one agent: every plan (plan.ts, made whenever the catalog or the
// node's workers change) rebuilds the agent's nftables table from it in one transaction
// (ruleset.ts), debounced (debounceMs, 100 ms) and one rebuild at a time, so a worker that stops
// being ready leaves the kernel's path well within a second. A rebuild the kernel refuses removes
// the table instead (no stale rule stays behind a failure); nftables missing or not permitted is
// said once in the log and shown in /readyz's details, and every route stays on the userspace
// path. At start the table left by the previous run keeps carrying traffic until the plan covers
// its routes again (the node's workers adopted and found ready) or settleMs has passed: an agent
// restart does not interrupt same-node traffic. close() keeps the table when the workers keep
// running (their traffic flows while the agent is away; the next start rebuilds it from state) and
// removes it otherwise.

import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { NftRunner } from "./nft.ts";
import { addressMatch, type FastPathMode, type FastPathPlan, type FastRoute, type PathNote } from "./plan.ts";
import { counterNames, fastPathRuleset, removalScript } from "./ruleset.ts";

export interface FastPathOptions {
  mode: FastPathMode;
  table: string;
  runner: NftRunner;
  bindAddress: string;
  log: Logger;
  /** The set of routes on the kernel's path changed (route status is reported again). */
  onChange?: () => void;
  debounceMs?: number;
  settleMs?: number;
  now?: () => number;
}

/** The counters of one fast route. */
export interface FastRouteCounters {
  service: string;
  port: number;
  connections: number;
  bytesToWorker: number;
  bytesFromWorker: number;
}

export class FastPath {
  private applied: FastRoute[] = [];
  private notes = new Map<string, PathNote>();
  private pending: FastPathPlan | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private problem: string | undefined;
  private closed = false;
  /** Until the start settles: the ports the previous run's table serves. */
  private inherited: Promise<Set<number>> | undefined;
  private readonly settleAt: number;

  constructor(private readonly options: FastPathOptions) {
    const now = options.now ?? Date.now;
    this.settleAt = now() + (options.settleMs ?? 5000);
    if (options.mode === "off") {
      void options.runner.apply(removalScript(options.table)).catch(() => {});
    } else {
      this.inherited = options.runner
        .counters(options.table)
        .then((counters) => new Set([...counters.keys()].flatMap((name) => portOf(name))))
        .catch(() => new Set<number>());
    }
  }

  /** A new plan: the table follows it shortly. */
  update(plan: FastPathPlan): void {
    if (this.closed || this.options.mode === "off") return;
    this.pending = plan;
    this.schedule(this.options.debounceMs ?? 100);
  }

  /** The path of a service's port as it is now (kernel only once the table says so). */
  note(service: string): PathNote {
    if (this.options.mode === "off")
      return { path: "userspace", reason: "the fast path is off (--mesh-fast-path off)" };
    if (this.problem) return { path: "userspace", reason: `the fast path is unavailable: ${this.problem}` };
    const note = this.notes.get(service);
    if (!note) return { path: "userspace", reason: "not planned yet" };
    if (note.path === "kernel" && !this.applied.some((r) => r.service === service))
      return { path: "userspace", reason: "waiting for the kernel's table" };
    return note;
  }

  /** For /readyz's details (never a failure). */
  describe(): string {
    if (this.options.mode === "off") return "off (--mesh-fast-path off)";
    if (this.problem) return `unavailable, every route on the userspace path: ${this.problem}`;
    const match = addressMatch(this.options.bindAddress);
    if ("error" in match) return `unavailable: ${match.error}`;
    return `nftables table inet ${this.options.table}: ${this.applied.length} route(s) on the kernel's path`;
  }

  /** The routes on the kernel's path now. */
  routes(): readonly FastRoute[] {
    return this.applied;
  }

  /** The rule counters of the routes on the kernel's path. */
  async counters(): Promise<FastRouteCounters[]> {
    if (this.applied.length === 0) return [];
    const counters = await this.options.runner.counters(this.options.table);
    return this.applied.map((route) => {
      const names = counterNames(route.port);
      return {
        service: route.service,
        port: route.port,
        connections: counters.get(names.connections)?.packets ?? 0,
        bytesToWorker: counters.get(names.toWorker)?.bytes ?? 0,
        bytesFromWorker: counters.get(names.fromWorker)?.bytes ?? 0,
      };
    });
  }

  /** Waits for the rebuild under way and the one pending (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.running || this.timer) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.kick();
      }
      await this.running;
    }
  }

  /** Stops rebuilding; removes the table unless `keep` (the workers keep running). */
  async close(keep: boolean): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (keep || this.options.mode === "off") return;
    this.applied = [];
    await this.options.runner.apply(removalScript(this.options.table)).catch(() => {});
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, delayMs);
  }

  private kick(): void {
    if (this.running) {
      // The rebuild under way ends with another one if a plan is still pending.
      return;
    }
    this.running = this.rebuild().finally(() => {
      this.running = undefined;
      if (this.pending && !this.closed) this.schedule(0);
    });
  }

  private async rebuild(): Promise<void> {
    if (this.inherited) {
      const inherited = await this.inherited;
      const plan = this.pending;
      const covered = [...inherited].every((port) => plan?.routes.some((r) => r.port === port));
      const now = (this.options.now ?? Date.now)();
      if (!covered && now < this.settleAt) {
        // Keep the previous run's table until the plan covers it or the start has settled.
        this.schedule(Math.min(this.options.debounceMs ?? 100, this.settleAt - now));
        return;
      }
      this.inherited = undefined;
    }
    // Taken after the last await before applying: a plan that came meanwhile is the one applied.
    const plan = this.pending;
    if (!plan || this.closed) return;
    this.pending = undefined;
    const before = this.applied.map((r) => r.service).join(",");
    await this.apply(plan);
    this.notes = plan.notes;
    if (this.applied.map((r) => r.service).join(",") !== before) this.options.onChange?.();
  }

  private async apply(plan: FastPathPlan): Promise<void> {
    const { runner, table, log } = this.options;
    const match = addressMatch(this.options.bindAddress);
    if ("error" in match) {
      this.applied = [];
      return;
    }
    try {
      if (plan.routes.length > 0) runner.allowLoopbackDnat();
      const counters = plan.routes.length > 0 ? await runner.counters(table) : new Map();
      await runner.apply(fastPathRuleset({ table, routes: plan.routes, match, counters }));
      this.applied = plan.routes;
      if (this.problem) log.info("mesh fast path available again", { table });
      this.problem = undefined;
      log.debug("mesh fast path table rebuilt", {
        table,
        routes: plan.routes.map((r) => `${r.service}:${r.port}`).join(" ") || "none",
      });
    } catch (err) {
      const message = describeError(err);
      if (message !== this.problem) {
        log.warn("mesh fast path unavailable: every route stays on the userspace path", {
          table,
          error: message,
        });
      }
      this.problem = message;
      this.applied = [];
      // A refused rebuild leaves the previous table in place: remove it, nothing stale may stay.
      await runner.apply(removalScript(table)).catch(() => {});
    }
  }
}

function portOf(name: string): number[] {
  const match = /^conns-(\d{1,5})$/.exec(name);
  return match ? [Number(match[1])] : [];
}
