// GET /api/v1/workers: every worker the plans ask for, with the status its node last reported.
// A worker no node has reported on yet is "pending", with a message that says what it waits for.
import type { NodePlan } from "../manifest/plan.ts";
import type { Store } from "../store/store.ts";

export interface WorkerView {
  service: string;
  node: string;
  index: number;
  phase: string;
  ready: boolean;
  restarts: number;
  message: string;
  exitCode: number | null;
  signal: string | null;
  since: string | null;
  /** The generation of the service the worker runs (as its node reported it). */
  generation?: number;
}

interface StatusRow {
  service: string;
  node: string;
  idx: number;
  phase: string;
  ready: number;
  restarts: number;
  message: string;
  exit_code: number | null;
  signal: string | null;
  since: string;
  generation: number | null;
}

export function listWorkers(store: Store, filter: { service?: string; node?: string } = {}): WorkerView[] {
  const db = store.db;
  const plans = db
    .query<
      { node: string; plan: string; revision: number; applied_revision: number; phase: string | null },
      []
    >(
      "SELECT p.node, p.plan, p.revision, p.applied_revision, n.phase FROM plans p LEFT JOIN nodes n ON n.name = p.node ORDER BY p.node",
    )
    .all();
  const statuses = new Map<string, StatusRow>();
  for (const row of db.query<StatusRow, []>("SELECT * FROM worker_status").all()) {
    statuses.set(`${row.service}\u0000${row.node}\u0000${row.idx}`, row);
  }
  const out: WorkerView[] = [];
  for (const p of plans) {
    if (filter.node && p.node !== filter.node) continue;
    const plan = JSON.parse(p.plan) as NodePlan;
    for (const service of plan.services) {
      if (filter.service && service.name !== filter.service) continue;
      for (const worker of service.workers) {
        const s = statuses.get(`${service.name}\u0000${p.node}\u0000${worker.index}`);
        if (s) {
          // A worker still running an older spec is not what the apply asked for: not ready yet.
          const stale = s.generation !== null && s.generation < service.generation;
          out.push({
            service: service.name,
            node: p.node,
            index: worker.index,
            phase: s.phase,
            ready: s.ready === 1 && !stale,
            restarts: s.restarts,
            message: stale
              ? `updating to generation ${service.generation} (runs ${s.generation})${s.message ? `: ${s.message}` : ""}`
              : s.message,
            exitCode: s.exit_code,
            signal: s.signal,
            since: s.since,
            ...(s.generation !== null ? { generation: s.generation } : {}),
          });
          continue;
        }
        const waiting =
          p.phase !== "Ready"
            ? `node ${p.node} is ${p.phase ?? "unknown"}`
            : p.applied_revision < p.revision
              ? `waiting for node ${p.node} to apply plan revision ${p.revision}`
              : `node ${p.node} has not reported this worker yet`;
        out.push({
          service: service.name,
          node: p.node,
          index: worker.index,
          phase: "pending",
          ready: false,
          restarts: 0,
          message: waiting,
          exitCode: null,
          signal: null,
          since: null,
        });
      }
    }
  }
  return out;
}

/** Pending entries for workers pinned to nodes that have not joined. */
export function unjoinedWorkers(pins: { service: string; node: string; replicas: number }[]): WorkerView[] {
  return pins.flatMap((pin) =>
    Array.from({ length: pin.replicas }, (_, index) => ({
      service: pin.service,
      node: pin.node,
      index,
      phase: "pending",
      ready: false,
      restarts: 0,
      message: `node ${pin.node} has not joined`,
      exitCode: null,
      signal: null,
      since: null,
    })),
  );
}
