// Restarts requested for single workers (table worker_restarts, by service key, node and index).
// A request is desired state, not a message: its count goes into that worker's entry of its node's
// plan (the planner's `restartOf`), and the node replaces the instance when the count it runs
// differs. Runs inside the caller's transaction.
import type { Database } from "bun:sqlite";
import { describeKey } from "../manifest/namespace.ts";
import { rejected } from "./api-error.ts";
import { placedServices } from "./plan-writer.ts";

/** The requested restarts of a worker (0: none). */
export type RestartOf = (service: string, node: string, index: number) => number;

const keyOf = (service: string, node: string, index: number) => `${service}\u0000${node}\u0000${index}`;

/** Every node's counters (of `only` when given), for the planner. */
export function restartCounts(db: Database, only?: string): RestartOf {
  type Row = { service: string; node: string; idx: number; count: number };
  const rows =
    only === undefined
      ? db.query<Row, []>("SELECT service, node, idx, count FROM worker_restarts").all()
      : db
          .query<Row, [string]>("SELECT service, node, idx, count FROM worker_restarts WHERE node = ?")
          .all(only);
  const counts = new Map(rows.map((r) => [keyOf(r.service, r.node, r.idx), r.count]));
  return (service, node, index) => counts.get(keyOf(service, node, index)) ?? 0;
}

/** Counts one more restart of a worker; the new count. */
export function bumpRestart(db: Database, service: string, node: string, index: number): number {
  const row = db
    .query<{ count: number }, [string, string, number, string]>(
      `INSERT INTO worker_restarts (service, node, idx, count, requested_at) VALUES (?, ?, ?, 1, ?)
       ON CONFLICT (service, node, idx) DO UPDATE SET count = count + 1, requested_at = excluded.requested_at
       RETURNING count`,
    )
    .get(service, node, index, new Date().toISOString());
  return row?.count ?? 1;
}

/**
 * Counters of services or nodes that no longer exist are deleted (a service deleted and made again
 * starts from 0). Those of workers no longer planned but whose service and node remain are kept:
 * if the worker comes back, its node is asked for the count it last ran, so nothing restarts.
 */
export function forgetRestarts(db: Database): void {
  db.run(
    `DELETE FROM worker_restarts
     WHERE service NOT IN (SELECT name FROM resources WHERE kind = 'Service')
        OR node NOT IN (SELECT name FROM nodes)`,
  );
}

/** A worker in a node's current plan: its restart count, or what is not there (for a 404). */
export type PlannedWorkerLookup = { found: true; restart: number } | { found: false; missing: string };

/** Looks a worker up in the node's stored plan. */
export function plannedWorker(
  db: Database,
  service: string,
  node: string,
  index: number,
): PlannedWorkerLookup {
  const missing = (text: string): PlannedWorkerLookup => ({ found: false, missing: text });
  const row = db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?").get(node);
  if (!row) return missing(`node "${node}" not found`);
  type Plan = { services?: { name?: unknown; workers?: { index?: unknown; restart?: unknown }[] }[] };
  const plan = JSON.parse(row.plan) as Plan;
  const planned = (plan.services ?? []).find((s) => s.name === service);
  if (!planned) return missing(`service "${describeKey(service)}" has no workers on node "${node}"`);
  const workers = planned.workers ?? [];
  const worker = workers.find((w) => w.index === index);
  if (!worker) {
    const indices = workers.map((w) => w.index).join(", ");
    return missing(
      `service "${describeKey(service)}" has no worker ${index} on node "${node}" (its workers there: ${indices})`,
    );
  }
  return { found: true, restart: typeof worker.restart === "number" ? worker.restart : 0 };
}

/**
 * After the re-plan of a restart: every service the node ran before is still on it. A count makes
 * a plan a few bytes larger: at the size one sync message can carry, it would push a service off
 * the node; that is refused (an ApiError, 409), and the transaction stores nothing.
 */
export function requireNothingDisplaced(
  db: Database,
  node: string,
  before: ReadonlySet<string>,
  restarted: { service: string; index: number },
): void {
  const after = placedServices(db, node).get(node) ?? new Set<string>();
  const displaced = [...before].filter((s) => !after.has(s)).map((s) => `"${describeKey(s)}"`);
  if (displaced.length === 0) return;
  const service = restarted.service;
  const message = `restarting worker ${restarted.index} of service "${describeKey(service)}" would make the plan of node "${node}" too large for one sync message: it would leave off service ${displaced.join(", ")}`;
  throw rejected(409, [{ kind: "Service", name: service, path: "", message }]);
}
