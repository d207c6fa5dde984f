// Which usage a heartbeat carries: the latest stored sample in its wire form, at most once per
// USAGE_REPORT_SECONDS and never the same sample twice (docs/PROTOCOL.md, "Usage"). With heartbeats
// every 5 s that is one heartbeat in six; with slower heartbeats (a large fleet), every one that
// has a new sample. A report that is lost is not sent again: the next one is newer.
import {
  toUsageReport,
  USAGE_REPORT_SECONDS,
  type UsageReport,
  type UsageSample,
} from "../../protocol/usage.ts";

/** Heartbeat timers drift: a report this much early still counts as due. */
const EARLY_MS = 1_000;

export class UsageReporter {
  #lastAtMs: number | undefined;
  #lastSampledAt: string | undefined;

  constructor(
    /** The latest sample (usage-store.ts latestUsageSample), or undefined before the first. */
    private readonly latest: () => UsageSample | undefined,
    private readonly everyMs = USAGE_REPORT_SECONDS * 1000,
  ) {}

  /** The usage for a heartbeat sent at `nowMs`, or undefined when none is due; counts it as sent. */
  next(nowMs: number): UsageReport | undefined {
    if (this.#lastAtMs !== undefined && nowMs - this.#lastAtMs < this.everyMs - EARLY_MS) return undefined;
    const sample = this.latest();
    if (!sample || sample.node.sampledAt === this.#lastSampledAt) return undefined;
    this.#lastAtMs = nowMs;
    this.#lastSampledAt = sample.node.sampledAt;
    return toUsageReport(sample);
  }
}
