// The nodes' staging reports in the cloud's store (table staging_reports): what each node has
// fetched of the staged generation of each service, the latest report replacing the one before,
// kept across restarts of the cloud so that a held-back generation is let through exactly when the
// reports say so (staging-hold.ts). Also the rows of GET /api/v1/staging.
import type { Database } from "bun:sqlite";
import type { NodePlan } from "../manifest/plan.ts";
import type { ReportOf, StagingReport, StagingState } from "./staging-hold.ts";

/** A node's staging report as it sends it (the node is known from the topic). */
export type ReportEntry = Omit<StagingReport, "node">;

/**
 * Stores a node's reports, whole (what it no longer reports is gone, but for ready ones). Returns whether one of them
 * became ready now: a held-back generation may be let through (re-plan).
 */
export function recordStaging(
  db: Database,
  node: string,
  entries: readonly ReportEntry[],
  at: string,
): boolean {
  const before = new Map(
    db
      .query<{ service: string; generation: number; state: string }, [string]>(
        "SELECT service, generation, state FROM staging_reports WHERE node = ?",
      )
      .all(node)
      .map((r) => [r.service, r]),
  );
  // A ready report the node no longer sends is its switched generation: kept for `get staging`
  // (listStaging drops it once the plan moved past it).
  const reported = new Set(entries.map((e) => e.service));
  for (const [service, row] of before)
    if (!reported.has(service) && row.state !== "ready")
      db.query("DELETE FROM staging_reports WHERE node = ? AND service = ?").run(node, service);
  const insert = db.query(
    `INSERT OR REPLACE INTO staging_reports (node, service, generation, fetched, total, state, message, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let newlyReady = false;
  for (const e of entries) {
    insert.run(node, e.service, e.generation, e.fetched, e.total, e.state, e.message, at);
    const was = before.get(e.service);
    if (e.state === "ready" && (was?.state !== "ready" || was.generation !== e.generation)) newlyReady = true;
  }
  return newlyReady;
}

/** Reads the reports for one planning (one query, then lookups). */
export function reportReader(db: Database): ReportOf {
  const rows = db
    .query<StagingReport, []>(
      "SELECT node, service, generation, fetched, total, state, message FROM staging_reports",
    )
    .all();
  const byKey = new Map(rows.map((r) => [`${r.node}\u0000${r.service}`, r]));
  return (node, service) => byKey.get(`${node}\u0000${service}`);
}

/** A node's stored plan (undefined: none). */
export function storedPlanReader(db: Database): (node: string) => NodePlan | undefined {
  const query = db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?");
  return (node) => {
    const row = query.get(node);
    return row ? (JSON.parse(row.plan) as NodePlan) : undefined;
  };
}

/** GET /api/v1/staging: one row per node and staged service. */
export interface StagingRow {
  node: string;
  service: string;
  /** The generation being staged (or, once switched, the one the node switched to). */
  generation: number;
  fetched: number;
  total: number;
  /** fetching|ready|failed as the node reported; waiting: nothing reported yet; switched: it runs it. */
  state: StagingState | "waiting" | "switched";
  /** ready but held: the generation waits for the other nodes (all-nodes). */
  held: boolean;
  message: string;
  updatedAt: string | null;
}

/** What every node stages (its plan holds a generation back) or reported staging, by node and service. */
export function listStaging(db: Database, filter: { node?: string; service?: string } = {}): StagingRow[] {
  const rows = new Map<string, StagingRow>();
  const key = (node: string, service: string) => `${node}\u0000${service}`;
  const reports = db
    .query<StagingReport & { updatedAt: string }, []>(
      `SELECT node, service, generation, fetched, total, state, message, updated_at AS updatedAt
       FROM staging_reports`,
    )
    .all();
  const plans = db.query<{ node: string; plan: string }, []>("SELECT node, plan FROM plans").all();
  const held = new Map<string, number>();
  const running = new Map<string, number>();
  for (const { node, plan } of plans) {
    for (const s of (JSON.parse(plan) as NodePlan).services ?? []) {
      if (s.staged) held.set(key(node, s.name), s.staged.generation);
      else running.set(key(node, s.name), s.generation);
    }
  }
  for (const r of reports) {
    const generation = held.get(key(r.node, r.service));
    // Not held: shown as switched while the node runs that generation, else stale.
    if (generation === undefined && running.get(key(r.node, r.service)) !== r.generation) continue;
    const current = generation === undefined || generation === r.generation;
    rows.set(key(r.node, r.service), {
      node: r.node,
      service: r.service,
      generation: generation ?? r.generation,
      fetched: current ? r.fetched : 0,
      total: current ? r.total : 0,
      state: generation === undefined ? "switched" : current ? r.state : "waiting",
      held: generation !== undefined && current && r.state === "ready",
      message: current ? r.message : "",
      updatedAt: r.updatedAt,
    });
  }
  for (const [k, generation] of held) {
    if (rows.has(k)) continue;
    const [node = "", service = ""] = k.split("\u0000");
    rows.set(k, {
      node,
      service,
      generation,
      fetched: 0,
      total: 0,
      state: "waiting",
      held: false,
      message: "",
      updatedAt: null,
    });
  }
  return [...rows.values()]
    .filter(
      (r) => (!filter.node || r.node === filter.node) && (!filter.service || r.service === filter.service),
    )
    .sort((a, b) => a.service.localeCompare(b.service) || a.node.localeCompare(b.node));
}
