// Services the planner left off a node because they would cross one of its limits (planner.ts,
// "Limits"): kept in the unplaced_workers table, written with the plans in the re-plan's
// transaction, and shown by GET /api/v1/workers as pending workers with the reason. A re-plan of
// every node replaces every row; a re-plan of one node (it joined) only that node's rows.
import type { Database } from "bun:sqlite";
import type { Store } from "../store/store.ts";
import type { Unplaced } from "./planner.ts";
import type { WorkerView } from "./workers-view.ts";

interface Row {
  service: string;
  node: string;
  workers: number;
  reason: string;
  since: string;
}

/** Replaces the rows (of `only` when given); returns the entries that were not unplaced before. */
export function replaceUnplaced(db: Database, unplaced: readonly Unplaced[], only?: string): Unplaced[] {
  const before = new Set(
    db
      .query<{ service: string; node: string }, [string | null]>(
        "SELECT service, node FROM unplaced_workers WHERE ?1 IS NULL OR node = ?1",
      )
      .all(only ?? null)
      .map((r) => `${r.service}\u0000${r.node}`),
  );
  const now = new Date().toISOString();
  db.query("DELETE FROM unplaced_workers WHERE ?1 IS NULL OR node = ?1").run(only ?? null);
  const insert = db.query(
    `INSERT OR REPLACE INTO unplaced_workers (service, node, workers, reason, since) VALUES (?, ?, ?, ?, ?)`,
  );
  const fresh: Unplaced[] = [];
  for (const u of unplaced) {
    const known = before.has(`${u.service}\u0000${u.node}`);
    insert.run(u.service, u.node, u.workers, u.reason, now);
    if (!known) fresh.push(u);
  }
  return fresh;
}

/** Pending workers of the services left off nodes, one per worker, with the reason. */
export function unplacedWorkers(
  store: Store,
  filter: { service?: string | undefined; node?: string | undefined } = {},
): WorkerView[] {
  const rows = store.db
    .query<Row, [string | null, string | null]>(
      `SELECT service, node, workers, reason, since FROM unplaced_workers
       WHERE (?1 IS NULL OR service = ?1) AND (?2 IS NULL OR node = ?2) ORDER BY service, node`,
    )
    .all(filter.service || null, filter.node || null);
  return rows.flatMap((row) =>
    Array.from({ length: row.workers }, (_, index) => ({
      service: row.service,
      node: row.node,
      index,
      phase: "pending",
      ready: false,
      restarts: 0,
      message: `not placed: ${row.reason}`,
      exitCode: null,
      signal: null,
      since: row.since,
    })),
  );
}
