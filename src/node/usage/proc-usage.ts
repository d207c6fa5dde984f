// What /proc says about CPU and memory, as pure parsers of the files' text (the reading is in
// host-readers.ts): the node's CPU time and CPU count (/proc/stat), its memory (/proc/meminfo),
// and one process's CPU time, group and session (/proc/PID/stat) and resident memory
// (/proc/PID/status). Tested on fixtures; none of them throws on text it cannot read.
import { statFields } from "../workers/drivers/proc.ts";

/**
 * Clock ticks per second in /proc (USER_HZ): 100 on every architecture Linux runs levee on; the
 * kernel keeps it fixed for user space whatever its internal tick rate.
 */
export const USER_HZ = 100;

/** The node's CPU time since boot, in ticks, summed over its CPUs. */
export interface CpuTimes {
  /** Ticks spent on anything but idle and iowait. */
  busy: number;
  /** All ticks (busy + idle + iowait). */
  total: number;
  /** CPUs online (the cpuN lines). */
  cpus: number;
}

/** The aggregate `cpu` line of /proc/stat and the count of `cpuN` lines, or undefined. */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  let times: number[] | undefined;
  let cpus = 0;
  for (const line of procStat.split("\n")) {
    if (line.startsWith("cpu ")) times = line.slice(4).trim().split(/\s+/).map(Number);
    else if (/^cpu\d+ /.test(line)) cpus++;
  }
  if (!times || times.length < 4 || times.some((n) => !Number.isFinite(n))) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice: guest time is already
  // counted in user and nice.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = times;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait, cpus: Math.max(1, cpus) };
}

/** The node's memory, bytes. */
export interface MemoryInfo {
  totalBytes: number;
  /** What programs could still get without swapping (MemAvailable). */
  availableBytes: number;
}

/** MemTotal and MemAvailable of /proc/meminfo (before Linux 3.14: MemFree + Buffers + Cached). */
export function parseMeminfo(meminfo: string): MemoryInfo | undefined {
  const kb = new Map<string, number>();
  for (const line of meminfo.split("\n")) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kb.set(m[1] as string, Number(m[2]));
  }
  const total = kb.get("MemTotal");
  if (total === undefined) return undefined;
  const available =
    kb.get("MemAvailable") ?? (kb.get("MemFree") ?? 0) + (kb.get("Buffers") ?? 0) + (kb.get("Cached") ?? 0);
  return { totalBytes: total * 1024, availableBytes: Math.min(total, available) * 1024 };
}

/** What the usage of a process group needs from /proc/PID/stat. */
export interface ProcessStat {
  state: string;
  pgrp: number;
  session: number;
  /** utime + stime + cutime + cstime (its own CPU time and its waited-for children's), ticks. */
  cpuTicks: number;
}

/** The fields of one /proc/PID/stat line, or undefined (comm may hold spaces and parentheses). */
export function parseProcessStat(stat: string): ProcessStat | undefined {
  const f = statFields(stat);
  // f[0] is field 3 (state); f[2] pgrp (5), f[3] session (6), f[11..14] utime stime cutime cstime (14-17).
  if (!f || f.length < 15) return undefined;
  const pgrp = Number(f[2]);
  const session = Number(f[3]);
  const ticks = [f[11], f[12], f[13], f[14]].map(Number);
  if (!Number.isInteger(pgrp) || !Number.isInteger(session) || ticks.some((n) => !Number.isFinite(n)))
    return undefined;
  return { state: f[0] as string, pgrp, session, cpuTicks: ticks.reduce((a, b) => a + b, 0) };
}

/** VmRSS of /proc/PID/status, bytes (0 for a process without memory of its own, e.g. a zombie). */
export function parseResidentBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
