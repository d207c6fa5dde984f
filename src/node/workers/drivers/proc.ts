// Facts about processes from /proc (Linux), used to find exec workers again after an agent
// restart: a pid alone can be reused by an unrelated process, so an instance is recognised by
// pid + start time (field 22 of /proc/PID/stat, in clock ticks since boot) + the marker variable
// LEVEE_WORKER_ID in its environment.
import { readdirSync, readFileSync } from "node:fs";

/** The start time of a process, or undefined when it does not exist (or is a zombie). */
export function processStartTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = statFields(stat);
  if (fields === undefined) return undefined;
  // fields[0] is field 3 (state): a zombie has ended already.
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  return fields[19];
}

/** Fields 3.. of /proc/PID/stat (after "pid (comm)"; comm may contain spaces and parentheses). */
export function statFields(stat: string): string[] | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  return stat
    .slice(close + 2)
    .trim()
    .split(" ");
}

/** A variable of a process's environment (as it was at exec), or undefined. */
export function processEnvVar(pid: number, name: string): string | undefined {
  const environ = readProc(`/proc/${pid}/environ`);
  if (environ === undefined) return undefined;
  const prefix = `${name}=`;
  for (const entry of environ.split("\0")) {
    if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  }
  return undefined;
}

/** Whether pid is alive and is the process that was started at startTime. */
export function isSameProcess(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

/** Every process id currently in /proc. */
export function listPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** Pids of the processes in process group pgid (the leader included). */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const pid of listPids()) {
    const stat = readProc(`/proc/${pid}/stat`);
    const fields = stat === undefined ? undefined : statFields(stat);
    // fields[2] is field 5 (pgrp).
    if (fields && fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(pid);
  }
  return members;
}

/** A /proc file's text, or undefined when it cannot be read (the process ended meanwhile). */
export function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}
