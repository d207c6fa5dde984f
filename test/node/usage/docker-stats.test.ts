// Docker's stats answer read as a container's counters: cumulative CPU nanoseconds, and memory as
// the working set (usage less inactive file cache, cgroup v2 and v1), never negative; an answer
// for a container that does not run, or anything else, has none.
import { describe, expect, test } from "bun:test";
import { parseDockerStats } from "../../../src/node/usage/docker-stats.ts";

const stats = (memory: unknown, totalUsage: unknown = 5_000_000_000) => ({
  read: "2030-01-01T00:00:10.000000000Z",
  preread: "0001-01-01T00:00:00Z",
  cpu_stats: {
    cpu_usage: { total_usage: totalUsage, usage_in_kernelmode: 1, usage_in_usermode: 2 },
    online_cpus: 2,
  },
  precpu_stats: { cpu_usage: { total_usage: 0 } },
  memory_stats: memory,
});

describe("docker stats", () => {
  test("cgroup v2: usage less inactive_file", () => {
    const json = stats({
      usage: 80 * 1024 * 1024,
      stats: { inactive_file: 20 * 1024 * 1024, anon: 1 },
      limit: 1e12,
    });
    expect(parseDockerStats(json)).toEqual({ cpuNanoseconds: 5_000_000_000, memoryBytes: 60 * 1024 * 1024 });
  });

  test("cgroup v1: usage less total_inactive_file", () => {
    const json = stats({ usage: 1000, stats: { total_inactive_file: 300, cache: 900 } });
    expect(parseDockerStats(json)).toEqual({ cpuNanoseconds: 5_000_000_000, memoryBytes: 700 });
  });

  test("no inactive file count: usage; more inactive than usage: 0", () => {
    expect(parseDockerStats(stats({ usage: 1000 }))?.memoryBytes).toBe(1000);
    expect(parseDockerStats(stats({ usage: 1000, stats: { inactive_file: 5000 } }))?.memoryBytes).toBe(0);
  });

  test("a stopped container (empty memory_stats) and bad answers have no counters", () => {
    expect(parseDockerStats(stats({}, 0))).toBeUndefined();
    expect(parseDockerStats(stats({ usage: 10 }, "5"))).toBeUndefined();
    expect(parseDockerStats(stats({ usage: -1 }))).toBeUndefined();
    expect(parseDockerStats(null)).toBeUndefined();
    expect(parseDockerStats("stats")).toBeUndefined();
    expect(parseDockerStats({ message: "No such container" })).toBeUndefined();
  });
});
