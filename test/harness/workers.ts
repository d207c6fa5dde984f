// Workers outlive their agent by design (an agent restart adopts them), so a test must remove
// the ones its agents started: every process whose LEVEE_WORKER_DIR lies under one of the test's
// temp dirs is killed with its process group. Also finds a worker's pid for adoption tests, and
// reads an agent's own view of its workers (GET /v1/workers on its agent API).
import { readdirSync, readFileSync } from "node:fs";
import type { WorkerSnapshot } from "../../src/node/workers/supervisor.ts";

/** An agent's workers (of one service, when given) as its agent API lists them; [] when it does not answer. */
export async function agentWorkers(agentUrl: string, service?: string): Promise<WorkerSnapshot[]> {
  const query = service === undefined ? "" : `?service=${encodeURIComponent(service)}`;
  const res = await fetch(`${agentUrl}/v1/workers${query}`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as { items: WorkerSnapshot[] }).items : [];
}

/** Pids (process group leaders) of the workers whose LEVEE_WORKER_DIR is under one of `dirs`. */
export function workerPidsUnder(dirs: Iterable<string>): number[] {
  const roots = [...dirs].map((d) => (d.endsWith("/") ? d : `${d}/`));
  if (roots.length === 0) return [];
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const dir = envOf(pid, "LEVEE_WORKER_DIR");
    if (dir === undefined || !roots.some((r) => `${dir}/`.startsWith(r))) continue;
    if (pgidOf(pid) === pid) pids.push(pid);
  }
  return pids;
}

export function killWorkersUnder(dirs: Iterable<string>): void {
  for (const pid of workerPidsUnder(dirs)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function envOf(pid: number, name: string): string | undefined {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
    for (const entry of environ.split("\0"))
      if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
  } catch {
    // gone, or not ours to read
  }
  return undefined;
}

function pgidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}
