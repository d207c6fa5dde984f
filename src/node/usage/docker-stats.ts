// A container's CPU time and memory from Docker's stats (GET /containers/ID/stats, API v1.41), as
// a pure parser. CPU: the cumulative cpu_stats.cpu_usage.total_usage (nanoseconds), which the
// sampler turns into a rate over its own window (so one read per sample is enough, and the
// one-shot form spares Docker's second read for precpu_stats). Memory: the working set as kubelet
// and metrics-server count it, usage less the inactive file cache (inactive_file on cgroup v2,
// total_inactive_file on v1), never below zero.
import type { UsageCounters } from "./usage-readers.ts";

/** The counters in a stats answer, or undefined when it has none (a container that is not running). */
export function parseDockerStats(stats: unknown): UsageCounters | undefined {
  const cpu = field(field(field(stats, "cpu_stats"), "cpu_usage"), "total_usage");
  const memory = field(stats, "memory_stats");
  const usage = field(memory, "usage");
  if (!isCount(cpu) || !isCount(usage)) return undefined;
  const inner = field(memory, "stats");
  const v2 = field(inner, "inactive_file");
  const v1 = field(inner, "total_inactive_file");
  const inactive = isCount(v2) ? v2 : isCount(v1) ? v1 : 0;
  return { cpuNanoseconds: cpu, memoryBytes: Math.max(0, usage - inactive) };
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}
