// The usage readers of a real host: the node from /proc/stat and /proc/meminfo, exec workers by
// one walk of /proc (every process whose group or session is a worker's, so that children that
// made a group of their own still count), containers from Docker's stats on its local socket.
// Memory of a process group is the sum of its processes' RSS (shared pages count once per
// process); a container's is its cgroup's working set as Docker reports it.
import { readFileSync } from "node:fs";
import { DockerClient } from "../workers/drivers/docker-client.ts";
import { listPids, readProc } from "../workers/drivers/proc.ts";
import { parseDockerStats } from "./docker-stats.ts";
import { parseCpuTimes, parseMeminfo, parseProcessStat, parseResidentBytes, USER_HZ } from "./proc-usage.ts";
import type { NodeCounters, UsageCounters, UsageReaders } from "./usage-readers.ts";

/** How long one container's stats may take before that worker is left out of the sample. */
const DOCKER_STATS_TIMEOUT_MS = 5_000;

export function hostReaders(options: { dockerSocket?: string | undefined } = {}): UsageReaders {
  let docker: DockerClient | undefined;
  return {
    node(): NodeCounters {
      const cpu = parseCpuTimes(readFileSync("/proc/stat", "latin1"));
      const memory = parseMeminfo(readFileSync("/proc/meminfo", "latin1"));
      if (!cpu) throw new Error("cannot read the CPU times in /proc/stat");
      if (!memory) throw new Error("cannot read MemTotal in /proc/meminfo");
      return { cpu, memory };
    },
    processGroups(leaders) {
      const wanted = new Set(leaders);
      const found = new Map<number, UsageCounters>();
      if (wanted.size === 0) return found;
      for (const pid of listPids()) {
        const text = readProc(`/proc/${pid}/stat`);
        const stat = text === undefined ? undefined : parseProcessStat(text);
        if (!stat || stat.state === "Z" || stat.state === "X") continue;
        const leader = wanted.has(stat.pgrp)
          ? stat.pgrp
          : wanted.has(stat.session)
            ? stat.session
            : undefined;
        if (leader === undefined) continue;
        const status = readProc(`/proc/${pid}/status`);
        const sum = found.get(leader) ?? { cpuNanoseconds: 0, memoryBytes: 0 };
        sum.cpuNanoseconds += stat.cpuTicks * (1e9 / USER_HZ);
        sum.memoryBytes += status === undefined ? 0 : parseResidentBytes(status);
        found.set(leader, sum);
      }
      return found;
    },
    async container(id) {
      docker ??= new DockerClient({ socket: options.dockerSocket });
      const stats = await docker.containerStats(id, { signal: AbortSignal.timeout(DOCKER_STATS_TIMEOUT_MS) });
      return stats === undefined ? undefined : parseDockerStats(stats);
    },
  };
}
