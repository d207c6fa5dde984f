// What the usage sampler reads at each sample, behind one interface: the node's counters, those
// of exec workers (process groups) and of container workers. host-readers.ts reads them from /proc
// and Docker; the sampler's tests hand it made-up counters.
import type { CpuTimes, MemoryInfo } from "./proc-usage.ts";

/** The node's cumulative CPU ticks and its memory now. */
export interface NodeCounters {
  cpu: CpuTimes;
  memory: MemoryInfo;
}

/** A worker's cumulative CPU time and its memory now. */
export interface UsageCounters {
  cpuNanoseconds: number;
  memoryBytes: number;
}

export interface UsageReaders {
  /** The node's counters; throws when they cannot be read. */
  node(): NodeCounters;
  /**
   * The counters of each exec worker's process group (keyed by its leader's pid, which is also
   * the group and session id): summed over every process of the group or session. A group with
   * no process left is missing from the map.
   */
  processGroups(leaders: readonly number[]): Map<number, UsageCounters>;
  /** A container's counters, or undefined when it is gone or not running; throws when Docker cannot be asked. */
  container(id: string): Promise<UsageCounters | undefined>;
}
