// What the fault suites read of the machine itself, not of levee's API: the live processes of
// levee workers (from /proc, as root), recognised by the marker every worker carries
// (LEVEE_WORKER_ID) and kept to the suite's own data dirs (other tests may run workers of the same
// names), and a seeded random generator so that a failing run can be replayed.
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Live worker processes under `roots`, grouped by `node/service/index` (and `/VALUE` of the env
 * variable `withEnv`, e.g. the generation a worker runs): key → pids.
 */
export function workerProcesses(roots: readonly string[], withEnv?: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${entry}/stat`, "utf8"))) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      const get = (name: string) => env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
      const dir = get("LEVEE_WORKER_DIR");
      if (!get("LEVEE_WORKER_ID") || !dir || !roots.some((r) => dir.startsWith(`${r}/`))) continue;
      const base = `${get("NODE_NAME")}/${get("SERVICE_NAME")}/${get("LEVEE_WORKER_INDEX")}`;
      const key = withEnv === undefined ? base : `${base}/${get(withEnv) ?? ""}`;
      out.set(key, [...(out.get(key) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return out;
}

/** A linear congruential generator: the same seed, the same run (LEVEE_FAULT_SEED). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `PRAGMA integrity_check` of an agent's store (run while the agent is down): "ok" or the faults. */
export function integrity(dataDir: string): string {
  const db = new Database(join(dataDir, "levee.db"), { readonly: true });
  try {
    return (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

/** Applies one object through the cloud API; whether it was acknowledged (200) within `timeoutMs`. */
export async function applyAcknowledged(
  api: (path: string, init: RequestInit) => Promise<Response>,
  object: unknown,
  timeoutMs: number,
): Promise<boolean> {
  const res = await api("/api/v1/apply", {
    method: "POST",
    body: JSON.stringify([object]),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch(() => undefined);
  return res?.status === 200;
}
