// Measures this node and its running workers every USAGE_SAMPLE_SECONDS and keeps the latest
// sample in SQLite (usage-store.ts). CPU is a rate: the growth of a cumulative counter between two
// samples over the time between them, so the first sample only sets the counters, and a worker
// appears from its second sample on (a restarted worker, with a new pid or container, starts
// over). Memory is what the last sample saw. A worker whose counters cannot be read (a container
// Docker does not answer for) is left out of that sample; the node's own counters failing skips
// the sample, logged once until they come back.
import type { UsageSample, WorkerUsage } from "../../protocol/usage.ts";
import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import type { Cancel, Clock } from "../link/clock.ts";
import type { NodeCounters, UsageCounters, UsageReaders } from "./usage-readers.ts";
import { saveUsageSample } from "./usage-store.ts";

/** How often the agent samples usage. */
export const USAGE_SAMPLE_SECONDS = 10;

/** A worker that may be running: an exec worker by its group leader, a container by its id. */
export interface SampledWorker {
  service: string;
  index: number;
  pid: number | null;
  containerId: string | null;
}

export interface UsageSamplerOptions {
  readers: UsageReaders;
  /** The workers to measure now (the supervisor's). */
  workers: () => readonly SampledWorker[];
  store: Store;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
}

interface Previous {
  atMs: number;
  node: NodeCounters;
  /** Per worker (service/index): its counters then. */
  workers: Map<string, WorkerCounters>;
}

interface WorkerCounters {
  service: string;
  index: number;
  /** What it ran as (its pid or container): a worker that started again starts over. */
  instance: string;
  counters: UsageCounters;
}

export class UsageSampler {
  #previous: Previous | undefined;
  #timer: Cancel | undefined;
  #running = false;
  #failing = false;
  #stopped = false;

  constructor(private readonly options: UsageSamplerOptions) {}

  /** Samples now and then every interval. */
  start(): void {
    if (this.#timer) return;
    this.#stopped = false;
    const tick = () => {
      this.sample().catch((err: unknown) => this.#failed(err));
    };
    this.#timer = this.options.clock.every(this.options.intervalMs ?? USAGE_SAMPLE_SECONDS * 1000, tick);
    tick();
  }

  /** No more samples; one under way is not stored (the store may be closing). */
  stop(): void {
    this.#stopped = true;
    this.#timer?.();
    this.#timer = undefined;
  }

  /**
   * Takes one sample: stored (and returned) when there was a previous one to measure CPU against.
   * A sample asked for while one is under way is skipped.
   */
  async sample(): Promise<UsageSample | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    try {
      return await this.#sample();
    } finally {
      this.#running = false;
    }
  }

  async #sample(): Promise<UsageSample | undefined> {
    const { readers, clock } = this.options;
    const atMs = clock.now();
    const node = readers.node();
    const workers = await this.#readWorkers();
    const previous = this.#previous;
    this.#previous = { atMs, node, workers };
    if (this.#failing) {
      this.#failing = false;
      this.options.log.info("usage sampling works again");
    }
    if (!previous || atMs <= previous.atMs) return undefined;
    const windowSeconds = (atMs - previous.atMs) / 1000;
    const sampledAt = new Date(atMs).toISOString();
    const usage: WorkerUsage[] = [];
    for (const [key, now] of workers) {
      const before = previous.workers.get(key);
      if (!before || before.instance !== now.instance) continue;
      usage.push({
        service: now.service,
        index: now.index,
        cpuNanocores: rate(now.counters.cpuNanoseconds - before.counters.cpuNanoseconds, windowSeconds),
        memoryBytes: now.counters.memoryBytes,
        windowSeconds,
        sampledAt,
      });
    }
    const busy = node.cpu.busy - previous.node.cpu.busy;
    const total = node.cpu.total - previous.node.cpu.total;
    const sample: UsageSample = {
      node: {
        // The busy share of all CPUs' time, times the CPUs: cores in use (no tick rate needed).
        cpuNanocores: total > 0 ? Math.max(0, Math.round((busy / total) * node.cpu.cpus * 1e9)) : 0,
        memoryBytes: Math.max(0, node.memory.totalBytes - node.memory.availableBytes),
        cpus: node.cpu.cpus,
        memoryCapacityBytes: node.memory.totalBytes,
        windowSeconds,
        sampledAt,
      },
      workers: usage,
    };
    if (this.#stopped) return undefined;
    saveUsageSample(this.options.store, sample);
    return sample;
  }

  /** The counters of every worker that runs, keyed by service/index. */
  async #readWorkers(): Promise<Map<string, WorkerCounters>> {
    const { readers, workers } = this.options;
    const list = workers();
    const read = new Map<string, WorkerCounters>();
    const keep = (w: SampledWorker, instance: string, counters: UsageCounters | undefined) => {
      if (counters) read.set(keyOf(w), { service: w.service, index: w.index, instance, counters });
    };
    const leaders = list.flatMap((w) => (w.pid !== null ? [w.pid] : []));
    const groups = readers.processGroups(leaders);
    for (const w of list) if (w.pid !== null) keep(w, `pid:${w.pid}`, groups.get(w.pid));
    const containers = list.filter((w) => w.pid === null && w.containerId !== null);
    const answers = await Promise.all(
      containers.map((w) =>
        readers.container(w.containerId as string).catch((err: unknown) => {
          this.options.log.debug("cannot read a container's usage", {
            worker: keyOf(w),
            error: describeError(err),
          });
          return undefined;
        }),
      ),
    );
    containers.forEach((w, i) => {
      keep(w, `container:${w.containerId}`, answers[i]);
    });
    return read;
  }

  #failed(err: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.options.log.warn("cannot sample usage", { error: describeError(err) });
  }
}

/** Nanocores from a counter's growth in nanoseconds over a window (never negative: a counter that fell). */
function rate(deltaNanoseconds: number, windowSeconds: number): number {
  return Math.max(0, Math.round(deltaNanoseconds / windowSeconds));
}

const keyOf = (w: { service: string; index: number }) => `${w.service}/${w.index}`;
