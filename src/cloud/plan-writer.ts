// Writes the planner's output into the plans table: a node's revision grows by one only when its
// plan's content (canonical JSON hash) changed, so re-applying the same manifests wakes no node.
// Runs inside the caller's transaction; returns the nodes whose plan changed, to be published after
// the commit. Also reads back which services each node's current plan runs (the planner places
// those first).
import type { Database } from "bun:sqlite";
import { canonicalJson, sha256Hex } from "../manifest/canonical.ts";
import type { NodePlan } from "../manifest/plan.ts";

export interface PlanChange {
  node: string;
  revision: number;
}

/**
 * With `previous`, each changed node's plan before the change is put there (undefined: it had none),
 * for what the change does to its workers (plan-diff.ts).
 */
export function writePlans(
  db: Database,
  plans: Map<string, NodePlan>,
  previous?: Map<string, NodePlan | undefined>,
): PlanChange[] {
  const changed: PlanChange[] = [];
  const oldPlan = db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?");
  const select = db.query<{ revision: number; hash: string }, [string]>(
    "SELECT revision, hash FROM plans WHERE node = ?",
  );
  const insert = db.query("INSERT INTO plans (node, revision, hash, plan) VALUES (?, 1, ?, ?)");
  const update = db.query("UPDATE plans SET revision = ?, hash = ?, plan = ?, sent_at = NULL WHERE node = ?");
  for (const [node, plan] of plans) {
    const text = canonicalJson(plan);
    const hash = sha256Hex(text);
    const row = select.get(node);
    if (!row) {
      previous?.set(node, undefined);
      insert.run(node, hash, text);
      changed.push({ node, revision: 1 });
    } else if (row.hash !== hash) {
      if (previous) previous.set(node, JSON.parse(oldPlan.get(node)?.plan ?? "null") ?? undefined);
      update.run(row.revision + 1, hash, text, node);
      changed.push({ node, revision: row.revision + 1 });
    }
  }
  return changed;
}

/** The services each node's stored plan runs (of `only` when given). */
export function placedServices(db: Database, only?: string): Map<string, Set<string>> {
  // Two statements, not `?1 IS NULL OR node = ?1`: SQLite cannot use the key for that OR, and a
  // join (which re-plans one node) would read every node's plan.
  type Row = { node: string; plan: string };
  const rows =
    only === undefined
      ? db.query<Row, []>("SELECT node, plan FROM plans").all()
      : db.query<Row, [string]>("SELECT node, plan FROM plans WHERE node = ?").all(only);
  const placed = new Map<string, Set<string>>();
  for (const row of rows) {
    const plan = JSON.parse(row.plan) as { services?: { name?: unknown }[] };
    const names = (plan.services ?? []).flatMap((s) => (typeof s.name === "string" ? [s.name] : []));
    placed.set(row.node, new Set(names));
  }
  return placed;
}
