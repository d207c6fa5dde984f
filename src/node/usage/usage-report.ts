// Which usage a heartbeat carries: the latest stored sample in its wire form, at most once per
// USAGE_REPORT_SECONDS, never the same sample twice, and only when it says something new
// (docs/PROTOCOL.md, "Usage"): a usage that moved (usageMoved) goes at the next heartbeat at least
// 30 s after the last report; one that stayed put only every USAGE_REFRESH_SECONDS, so that an
// idle node's usage costs its link a report every 5 minutes instead of every 30 s (README "What
// sync costs"). A report that is lost is not sent again: the next one is newer.
import {
  toUsageReport,
  USAGE_REFRESH_SECONDS,
  USAGE_REPORT_SECONDS,
  type UsageReport,
  type UsageSample,
} from "../../protocol/usage.ts";

/** Heartbeat timers drift: a report this much early still counts as due. */
const EARLY_MS = 1_000;
/** CPU that moved less than this (and less than CPU_MOVE_SHARE of it) stayed put. */
const CPU_MOVE_MILLICORES = 50;
const CPU_MOVE_SHARE = 0.1;
/** Memory that moved less than this (and less than MEMORY_MOVE_SHARE of it) stayed put. */
const MEMORY_MOVE_KIB = 4096;
const MEMORY_MOVE_SHARE = 0.05;

function moved(before: number, after: number, floor: number, share: number): boolean {
  return Math.abs(after - before) >= Math.max(floor, before * share);
}

function amountsMoved(
  a: { cpuMillicores: number; memoryKiB: number },
  b: { cpuMillicores: number; memoryKiB: number },
): boolean {
  return (
    moved(a.cpuMillicores, b.cpuMillicores, CPU_MOVE_MILLICORES, CPU_MOVE_SHARE) ||
    moved(a.memoryKiB, b.memoryKiB, MEMORY_MOVE_KIB, MEMORY_MOVE_SHARE)
  );
}

/** Whether `next` says something `last` did not: other workers, or CPU or memory that moved. */
export function usageMoved(last: UsageReport, next: UsageReport): boolean {
  if (last.workers.length !== next.workers.length) return true;
  if (last.node.cpus !== next.node.cpus || last.node.memoryCapacityKiB !== next.node.memoryCapacityKiB)
    return true;
  if (amountsMoved(last.node, next.node)) return true;
  return last.workers.some((w, i) => {
    const n = next.workers[i];
    return !n || n.service !== w.service || n.index !== w.index || amountsMoved(w, n);
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
