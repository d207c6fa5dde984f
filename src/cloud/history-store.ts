// The generations of each Service and Dayu object kept for `levee ctl rollout history` and
// `rollout undo`: the spec as stored at each generation, the newest N kept (the cloud's
// --history-limit). Written inside the apply's transaction each time an object's generation grows,
// so the history can never name a generation the object did not have; the rows go with the object
// (a trigger of the object_history table, src/store/migrations.ts).
import type { Database } from "bun:sqlite";
import { DAYU_KINDS } from "../manifest/dayu/sedna-schema.ts";

/** The kinds whose generations are kept: what `rollout undo` can roll back. */
export const HISTORY_KINDS: readonly string[] = ["Service", ...DAYU_KINDS];

export const DEFAULT_HISTORY_LIMIT = 10;

export interface Generation {
  generation: number;
  spec: Record<string, unknown>;
  appliedAt: string;
}

/**
 * Records the spec of an object's new generation and drops all but the newest `limit` generations
 * of it; call inside the transaction that stored the generation. Other kinds are ignored.
 */
export function recordGeneration(
  db: Database,
  ref: { kind: string; name: string },
  generation: number,
  spec: Record<string, unknown>,
  limit: number,
): void {
  if (!HISTORY_KINDS.includes(ref.kind)) return;
  db.query(
    `INSERT INTO object_history (kind, name, generation, spec, applied_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (kind, name, generation) DO UPDATE SET spec = excluded.spec, applied_at = excluded.applied_at`,
  ).run(ref.kind, ref.name, generation, JSON.stringify(spec), new Date().toISOString());
  pruneHistory(db, ref, limit);
}

/** Keeps the newest `limit` generations of one object (at least one: the current). */
export function pruneHistory(db: Database, ref: { kind: string; name: string }, limit: number): number {
  const keep = Math.max(1, Math.floor(limit));
  return db
    .query(
      `DELETE FROM object_history WHERE kind = ?1 AND name = ?2 AND generation NOT IN
         (SELECT generation FROM object_history WHERE kind = ?1 AND name = ?2 ORDER BY generation DESC LIMIT ?3)`,
    )
    .run(ref.kind, ref.name, keep).changes;
}

/** The kept generations of an object, newest first. */
export function listGenerations(db: Database, ref: { kind: string; name: string }): Generation[] {
  type Row = { generation: number; spec: string; applied_at: string };
  return db
    .query<Row, [string, string]>(
      "SELECT generation, spec, applied_at FROM object_history WHERE kind = ? AND name = ? ORDER BY generation DESC",
    )
    .all(ref.kind, ref.name)
    .map((row) => ({
      generation: row.generation,
      spec: JSON.parse(row.spec) as Record<string, unknown>,
      appliedAt: row.applied_at,
    }));
}
