// The usage nodes report with their heartbeats (tables node_usage and worker_usage): each report
// replaces its node's rows whole (a worker that no longer runs has no row), inside the cloud
// link's batch transaction; a node's rows go when the node is deleted (ON DELETE CASCADE). Read
// back as plain objects for the metrics the cloud serves.
import type { Database } from "bun:sqlite";
import { fromUsageReport, type NodeUsage, type UsageReport, type WorkerUsage } from "../protocol/usage.ts";
import type { Store } from "../store/store.ts";

/** Stores the usage `node` reported (a node the cloud does not know is ignored). */
export function recordUsage(store: Store, node: string, report: UsageReport, receivedAt: string): void {
  const sample = fromUsageReport(report);
  const n = sample.node;
  store.tx((db) => {
    const stored = db
      .query(
        `INSERT INTO node_usage (node, cpu_nanocores, memory_bytes, cpus, memory_capacity, window_seconds,
           sampled_at, received_at)
         SELECT name, ?, ?, ?, ?, ?, ?, ? FROM nodes WHERE name = ?
         ON CONFLICT (node) DO UPDATE SET cpu_nanocores = excluded.cpu_nanocores,
           memory_bytes = excluded.memory_bytes, cpus = excluded.cpus,
           memory_capacity = excluded.memory_capacity, window_seconds = excluded.window_seconds,
           sampled_at = excluded.sampled_at, received_at = excluded.received_at`,
      )
      .run(
        n.cpuNanocores,
        n.memoryBytes,
        n.cpus,
        n.memoryCapacityBytes,
        n.windowSeconds,
        n.sampledAt,
        receivedAt,
        node,
      );
    if (stored.changes === 0) return;
    db.query("DELETE FROM worker_usage WHERE node = ?").run(node);
    const insert = db.query(
      `INSERT OR REPLACE INTO worker_usage (service, node, idx, cpu_nanocores, memory_bytes, window_seconds, sampled_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const w of sample.workers) {
      insert.run(w.service, node, w.index, w.cpuNanocores, w.memoryBytes, w.windowSeconds, w.sampledAt);
    }
  });
}

/** The last usage of every node that reported one (of `node` only, when given), by name. */
export function nodeUsage(db: Database, node?: string): (NodeUsage & { node: string })[] {
  return db
    .query<NodeUsage & { node: string }, [string | null]>(
      `SELECT node, cpu_nanocores AS cpuNanocores, memory_bytes AS memoryBytes, cpus,
              memory_capacity AS memoryCapacityBytes, window_seconds AS windowSeconds,
              sampled_at AS sampledAt
       FROM node_usage WHERE ?1 IS NULL OR node = ?1 ORDER BY node`,
    )
    .all(node ?? null);
}

/** The last usage of the workers nodes reported, by service, node and index; filtered by node and service. */
export function workerUsage(
  db: Database,
  filter: { node?: string | undefined; service?: string | undefined } = {},
): (WorkerUsage & { node: string })[] {
  return db
    .query<WorkerUsage & { node: string }, [string | null, string | null]>(
      `SELECT service, node, idx AS "index", cpu_nanocores AS cpuNanocores, memory_bytes AS memoryBytes,
              window_seconds AS windowSeconds, sampled_at AS sampledAt
       FROM worker_usage WHERE (?1 IS NULL OR node = ?1) AND (?2 IS NULL OR service = ?2)
       ORDER BY service, node, idx`,
    )
    .all(filter.node ?? null, filter.service ?? null);
}
