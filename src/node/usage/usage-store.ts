// This node's latest usage in its SQLite (tables usage_node and usage_workers): written whole at
// every sample, in one transaction, so a reader sees one sample, never parts of two; read by the
// usage report of the heartbeat and by the metrics served from this node's own agent.
import type { Database } from "bun:sqlite";
import type { NodeUsage, UsageSample, WorkerUsage } from "../../protocol/usage.ts";
import type { Store } from "../../store/store.ts";

/** Replaces the stored sample with this one. */
export function saveUsageSample(store: Store, sample: UsageSample): void {
  const { node } = sample;
  store.tx((db) => {
    db.query(
      `INSERT INTO usage_node (id, cpu_nanocores, memory_bytes, cpus, memory_capacity, window_seconds, sampled_at)
       VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET cpu_nanocores = excluded.cpu_nanocores,
         memory_bytes = excluded.memory_bytes, cpus = excluded.cpus,
         memory_capacity = excluded.memory_capacity, window_seconds = excluded.window_seconds,
         sampled_at = excluded.sampled_at`,
    ).run(
      Math.round(node.cpuNanocores),
      Math.round(node.memoryBytes),
      node.cpus,
      Math.round(node.memoryCapacityBytes),
      node.windowSeconds,
      node.sampledAt,
    );
    db.run("DELETE FROM usage_workers");
    const insert = db.query(
      `INSERT INTO usage_workers (service, idx, cpu_nanocores, memory_bytes, window_seconds, sampled_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const w of sample.workers) {
      insert.run(
        w.service,
        w.index,
        Math.round(w.cpuNanocores),
        Math.round(w.memoryBytes),
        w.windowSeconds,
        w.sampledAt,
      );
    }
  });
}

/** This node's usage at the last sample, or undefined before the first one. */
export function localNodeUsage(db: Database): NodeUsage | undefined {
  return (
    db
      .query<NodeUsage, []>(
        `SELECT cpu_nanocores AS cpuNanocores, memory_bytes AS memoryBytes, cpus,
                memory_capacity AS memoryCapacityBytes, window_seconds AS windowSeconds,
                sampled_at AS sampledAt
         FROM usage_node WHERE id = 1`,
      )
      .get() ?? undefined
  );
}

/** The usage of this node's workers at the last sample (of one service's only, with `service`). */
export function localWorkerUsage(db: Database, filter: { service?: string | undefined } = {}): WorkerUsage[] {
  return db
    .query<WorkerUsage, [string | null]>(
      `SELECT service, idx AS "index", cpu_nanocores AS cpuNanocores, memory_bytes AS memoryBytes,
              window_seconds AS windowSeconds, sampled_at AS sampledAt
       FROM usage_workers WHERE ?1 IS NULL OR service = ?1 ORDER BY service, idx`,
    )
    .all(filter.service ?? null);
}

/** The last sample whole (what a heartbeat reports), or undefined before the first one. */
export function latestUsageSample(db: Database): UsageSample | undefined {
  const node = localNodeUsage(db);
  return node ? { node, workers: localWorkerUsage(db) } : undefined;
}
