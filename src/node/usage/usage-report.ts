// Which usage a heartbeat carries: the latest stored sample in its wire form, at most once per
// USAGE_REPORT_SECONDS, never the same sample twice, and only when it says something new
// (docs/PROTOCOL.md, "Usage"): a usage that moved (usageMoved) goes at the next heartbeat at least
// USAGE_REPORT_SECONDS (60 s) after the last report; one that stayed put only every
// USAGE_REFRESH_SECONDS, so that an idle node's usage costs its link a report every 5 minutes
// instead of every minute (README "What sync costs"). A report that is lost is not sent again: the
// next one is newer.
import {
  toUsageReport,
  USAGE_REFRESH_SECONDS,
  USAGE_REPORT_SECONDS,
  type UsageReport,
  type UsageSample,
} from "../../protocol/usage.ts";

/** Heartbeat timers drift: a report this much early still counts as due. */
const EARLY_MS = 1_000;
/**
 * What counts as moved: what a reader of the dashboard or `levee ctl top` would call a change, not
 * the jitter of an idle host (its CPU and memory wander with everything else it runs). The node's
 * own figures against its capacity: a quarter of its CPUs, a tenth of its memory. A worker's
 * against itself: 250 millicores or half, 32 MiB or a quarter, whichever is more.
 */
const NODE_CPU_SHARE_OF_CAPACITY = 0.25;
const NODE_MEMORY_SHARE_OF_CAPACITY = 0.1;
const WORKER_CPU = { floor: 250, share: 0.5 };
const WORKER_MEMORY_KIB = { floor: 32 * 1024, share: 0.25 };

function moved(before: number, after: number, by: { floor: number; share: number }): boolean {
  return Math.abs(after - before) >= Math.max(by.floor, before * by.share);
}

type Amounts = { cpuMillicores: number; memoryKiB: number };

function workerMoved(a: Amounts, b: Amounts): boolean {
  return (
    moved(a.cpuMillicores, b.cpuMillicores, WORKER_CPU) || moved(a.memoryKiB, b.memoryKiB, WORKER_MEMORY_KIB)
  );
}

/** Whether `next` says something `last` did not: other workers, or CPU or memory that moved. */
export function usageMoved(last: UsageReport, next: UsageReport): boolean {
  if (last.workers.length !== next.workers.length) return true;
  const { node } = next;
  if (last.node.cpus !== node.cpus || last.node.memoryCapacityKiB !== node.memoryCapacityKiB) return true;
  const cpu = { floor: node.cpus * 1000 * NODE_CPU_SHARE_OF_CAPACITY, share: 0 };
  const memory = { floor: node.memoryCapacityKiB * NODE_MEMORY_SHARE_OF_CAPACITY, share: 0 };
  if (moved(last.node.cpuMillicores, node.cpuMillicores, cpu)) return true;
  if (moved(last.node.memoryKiB, node.memoryKiB, memory)) return true;
  return last.workers.some((w, i) => {
    const n = next.workers[i];
    return !n || n.service !== w.service || n.index !== w.index || workerMoved(w, n);
  });
}

export class UsageReporter {
  #lastAtMs: number | undefined;
  #lastSampledAt: string | undefined;
  #last: UsageReport | undefined;

  constructor(
    /** The latest sample (usage-store.ts latestUsageSample), or undefined before the first. */
    private readonly latest: () => UsageSample | undefined,
    private readonly everyMs = USAGE_REPORT_SECONDS * 1000,
    private readonly refreshMs = USAGE_REFRESH_SECONDS * 1000,
  ) {}

  /** The usage for a heartbeat sent at `nowMs`, or undefined when none is due; counts it as sent. */
  next(nowMs: number): UsageReport | undefined {
    const since = this.#lastAtMs === undefined ? Number.POSITIVE_INFINITY : nowMs - this.#lastAtMs;
    if (since < this.everyMs - EARLY_MS) return undefined;
    const sample = this.latest();
    if (!sample || sample.node.sampledAt === this.#lastSampledAt) return undefined;
    const report = toUsageReport(sample);
    const last = this.#last;
    if (last && since < this.refreshMs - EARLY_MS && !usageMoved(last, report)) return undefined;
    this.#lastAtMs = nowMs;
    this.#lastSampledAt = sample.node.sampledAt;
    this.#last = report;
    return report;
  }
}
