// The plan this node runs, in its own SQLite (table node_plan, one row). While offline it is the
// truth: the supervisor starts from readStoredPlan() at boot, cloud or no cloud. A plan message
// is accepted or recognised as a duplicate by decidePlan (pure), and accepted plans are written
// in one transaction before the node acknowledges them (docs/PROTOCOL.md, "Plan").
import type { Store } from "../../store/store.ts";

export interface PlanVersion {
  epoch: string;
  revision: number;
}

export interface StoredPlan extends PlanVersion {
  hash: string;
  plan: Record<string, unknown>;
  receivedAt: string;
}

export type PlanDecision = "accept" | "duplicate";

/**
 * Another epoch (the cloud's database was rebuilt) is a fresh snapshot whatever its revision;
 * within one epoch only a newer revision is; an equal or older one (a re-sent or late message)
 * changes nothing and is only acknowledged again.
 */
export function decidePlan(current: PlanVersion | undefined, incoming: PlanVersion): PlanDecision {
  if (current === undefined) return "accept";
  if (current.epoch !== incoming.epoch) return "accept";
  return incoming.revision > current.revision ? "accept" : "duplicate";
}

interface PlanRow {
  epoch: string;
  revision: number;
  hash: string;
  plan: string;
  received_at: string;
}

function toStored(row: PlanRow): StoredPlan {
  return {
    epoch: row.epoch,
    revision: row.revision,
    hash: row.hash,
    plan: JSON.parse(row.plan) as Record<string, unknown>,
    receivedAt: row.received_at,
  };
}

const SELECT = "SELECT epoch, revision, hash, plan, received_at FROM node_plan WHERE id = 1";

export function readStoredPlan(store: Store): StoredPlan | undefined {
  const row = store.db.query<PlanRow, []>(SELECT).get();
  return row ? toStored(row) : undefined;
}

/** The stored plan's version and hash without parsing the plan (for hello and heartbeat). */
export function readStoredVersion(store: Store): (PlanVersion & { hash: string }) | undefined {
  return (
    store.db
      .query<{ epoch: string; revision: number; hash: string }, []>(
        "SELECT epoch, revision, hash FROM node_plan WHERE id = 1",
      )
      .get() ?? undefined
  );
}

export interface IncomingPlan extends PlanVersion {
  hash: string;
  plan: Record<string, unknown>;
}

export type AcceptResult =
  | { decision: "accept"; stored: StoredPlan }
  /** `stored` is what the node keeps running (its version is what to acknowledge). */
  | { decision: "duplicate"; stored: StoredPlan; sameRevisionOtherHash: boolean };

/** Decides and (if accepted) writes, in one transaction. */
export function acceptPlan(store: Store, incoming: IncomingPlan, now: Date = new Date()): AcceptResult {
  return store.tx((db) => {
    const row = db.query<PlanRow, []>(SELECT).get();
    const current = row ? toStored(row) : undefined;
    if (current && decidePlan(current, incoming) === "duplicate") {
      const sameRevisionOtherHash = current.revision === incoming.revision && current.hash !== incoming.hash;
      return { decision: "duplicate", stored: current, sameRevisionOtherHash } as const;
    }
    const stored: StoredPlan = {
      epoch: incoming.epoch,
      revision: incoming.revision,
      hash: incoming.hash,
      plan: incoming.plan,
      receivedAt: now.toISOString(),
    };
    db.query(
      `INSERT INTO node_plan (id, epoch, revision, hash, plan, received_at) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, revision = excluded.revision,
         hash = excluded.hash, plan = excluded.plan, received_at = excluded.received_at`,
    ).run(stored.epoch, stored.revision, stored.hash, JSON.stringify(stored.plan), stored.receivedAt);
    return { decision: "accept", stored } as const;
  });
}
