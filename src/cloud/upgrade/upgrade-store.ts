// The agent upgrade rollouts in the cloud's SQLite (tables upgrade_rollouts and upgrade_nodes):
// reads into the planner's views (rollout-planner.ts), writes of its steps and of the nodes'
// reports. The callers hold the transaction. A rollout survives a cloud restart: it is all here.
import type { UpgradeBinary, UpgradeState } from "../../protocol/upgrade.ts";
import type { Store } from "../../store/store.ts";
import {
  type MaxUnavailable,
  type NodeView,
  parseMaxUnavailable,
  type RolloutState,
  type RolloutStep,
  type RolloutView,
} from "./rollout-planner.ts";

export interface Rollout extends RolloutView {
  id: string;
  binaries: UpgradeBinary[];
  keyId: string;
  selector: string;
  includeCloud: boolean;
  reason: string;
  createdAt: string;
  updatedAt: string;
}

export interface RolloutNode {
  node: string;
  state: UpgradeState;
  from: string;
  reason: string;
  orderedAt: number | null;
  updatedAt: number;
}

interface RolloutRow {
  id: string;
  version: string;
  binaries: string;
  key_id: string;
  selector: string;
  max_unavailable: string;
  pause_ms: number;
  timeout_seconds: number;
  allow_downgrade: number;
  include_cloud: number;
  state: RolloutState;
  reason: string;
  batch_open: number;
  batch_ended_at: number | null;
  created_at: string;
  updated_at: string;
}

export interface NewRollout {
  id: string;
  version: string;
  binaries: UpgradeBinary[];
  keyId: string;
  selector: string;
  maxUnavailable: string;
  pauseMs: number;
  timeoutSeconds: number;
  allowDowngrade: boolean;
  includeCloud: boolean;
  /** In the order they are upgraded. */
  nodes: { node: string; from: string }[];
}

export class UpgradeStore {
  constructor(private readonly store: Store) {}

  /** The rollout that runs or is paused, if any. */
  active(): Rollout | undefined {
    const row = this.store.db
      .query<RolloutRow, []>("SELECT * FROM upgrade_rollouts WHERE state IN ('running', 'paused') LIMIT 1")
      .get();
    return row ? toRollout(row) : undefined;
  }

  /** The newest rollout, whatever its state. */
  latest(): Rollout | undefined {
    const row = this.store.db
      .query<RolloutRow, []>("SELECT * FROM upgrade_rollouts ORDER BY created_at DESC, rowid DESC LIMIT 1")
      .get();
    return row ? toRollout(row) : undefined;
  }

  /** The active rollout, else the newest; undefined when there was none. */
  current(): Rollout | undefined {
    return this.active() ?? this.latest();
  }

  get(id: string): Rollout | undefined {
    const row = this.store.db
      .query<RolloutRow, [string]>("SELECT * FROM upgrade_rollouts WHERE id = ?")
      .get(id);
    return row ? toRollout(row) : undefined;
  }

  nodes(rollout: string): RolloutNode[] {
    return this.store.db
      .query<
        {
          node: string;
          state: UpgradeState;
          from_version: string;
          reason: string;
          ordered_at: number | null;
          updated_at: number;
        },
        [string]
      >("SELECT * FROM upgrade_nodes WHERE rollout = ? ORDER BY position")
      .all(rollout)
      .map((r) => ({
        node: r.node,
        state: r.state,
        from: r.from_version,
        reason: r.reason,
        orderedAt: r.ordered_at,
        updatedAt: r.updated_at,
      }));
  }

  /** The planner's view of the rollout's nodes: online means phase Ready; deleted, no longer registered. */
  nodeViews(rollout: string, cloudNode: string): NodeView[] {
    return this.store.db
      .query<
        {
          node: string;
          state: UpgradeState;
          ordered_at: number | null;
          updated_at: number;
          phase: string | null;
          agent_version: string | null;
          reason: string;
          registered: number;
        },
        [string]
      >(
        `SELECT u.node, u.state, u.ordered_at, u.updated_at, u.reason, n.phase, n.agent_version,
                n.name IS NOT NULL AS registered
           FROM upgrade_nodes u LEFT JOIN nodes n ON n.name = u.node
          WHERE u.rollout = ? ORDER BY u.position`,
      )
      .all(rollout)
      .map((r) => ({
        node: r.node,
        state: r.state,
        online: r.phase === "Ready",
        deleted: r.registered === 0,
        version: r.agent_version ?? "",
        isCloud: r.node === cloudNode,
        orderedAt: r.ordered_at,
        updatedAt: r.updated_at,
        reason: r.reason,
      }));
  }

  create(r: NewRollout, now: number): void {
    const iso = new Date(now).toISOString();
    this.store.db
      .query(
        `INSERT INTO upgrade_rollouts (id, version, binaries, key_id, selector, max_unavailable, pause_ms,
           timeout_seconds, allow_downgrade, include_cloud, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(
        r.id,
        r.version,
        JSON.stringify(r.binaries),
        r.keyId,
        r.selector,
        r.maxUnavailable,
        r.pauseMs,
        r.timeoutSeconds,
        r.allowDowngrade ? 1 : 0,
        r.includeCloud ? 1 : 0,
        iso,
        iso,
      );
    const insert = this.store.db.query(
      "INSERT INTO upgrade_nodes (rollout, node, position, state, from_version, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)",
    );
    r.nodes.forEach((n, i) => {
      insert.run(r.id, n.node, i, n.from, now);
    });
  }

  /** Writes a planner step (the orders' ordered_at included). */
  applyStep(id: string, step: RolloutStep, now: number): void {
    const setNode = this.store.db.query(
      "UPDATE upgrade_nodes SET state = ?, reason = COALESCE(?, reason), updated_at = ? WHERE rollout = ? AND node = ?",
    );
    for (const c of step.nodes) setNode.run(c.state, c.reason ?? null, now, id, c.node);
    const ordered = this.store.db.query(
      "UPDATE upgrade_nodes SET ordered_at = ? WHERE rollout = ? AND node = ?",
    );
    for (const node of step.order) ordered.run(now, id, node);
    const r = step.rollout;
    if (!r) return;
    this.store.db
      .query(
        `UPDATE upgrade_rollouts SET state = COALESCE(?, state), reason = COALESCE(?, reason),
           batch_open = COALESCE(?, batch_open), batch_ended_at = COALESCE(?, batch_ended_at), updated_at = ?
         WHERE id = ?`,
      )
      .run(
        r.state ?? null,
        r.reason ?? null,
        r.batchOpen === undefined ? null : r.batchOpen ? 1 : 0,
        r.batchEndedAt ?? null,
        new Date(now).toISOString(),
        id,
      );
  }

  /** A node's report; false when the node is not in that rollout or already finished there. */
  report(id: string, node: string, state: UpgradeState, from: string, reason: string, now: number): boolean {
    const changed = this.store.db
      .query(
        `UPDATE upgrade_nodes SET state = ?, reason = ?, from_version = CASE WHEN ? = '' THEN from_version ELSE ? END,
           updated_at = ?
         WHERE rollout = ? AND node = ? AND state NOT IN ('done', 'skipped', 'failed', 'rolled-back')`,
      )
      .run(state, reason, from, from, now, id, node);
    return changed.changes > 0;
  }

  setState(id: string, state: RolloutState, reason: string, now: number): void {
    this.store.db
      .query("UPDATE upgrade_rollouts SET state = ?, reason = ?, updated_at = ? WHERE id = ?")
      .run(state, reason, new Date(now).toISOString(), id);
  }
}

/** A binary of a rollout that runs or is paused. */
export interface ActiveBinaryUse {
  rollout: string;
  state: RolloutState;
  target: string;
}

/** Where an artifact is a binary of a running or paused rollout (its artifact must stay). */
export function activeRolloutsUsing(db: Store["db"], sha256: string): ActiveBinaryUse[] {
  const rows = db
    .query<{ id: string; state: RolloutState; binaries: string }, []>(
      "SELECT id, state, binaries FROM upgrade_rollouts WHERE state IN ('running', 'paused') ORDER BY id",
    )
    .all();
  return rows.flatMap((row) =>
    (JSON.parse(row.binaries) as UpgradeBinary[])
      .filter((b) => b.sha256 === sha256)
      .map((b) => ({ rollout: row.id, state: row.state, target: b.target })),
  );
}

function toRollout(row: RolloutRow): Rollout {
  const max = parseMaxUnavailable(row.max_unavailable);
  const maxUnavailable: MaxUnavailable = typeof max === "string" ? { count: 1 } : max;
  return {
    id: row.id,
    version: row.version,
    binaries: JSON.parse(row.binaries) as UpgradeBinary[],
    keyId: row.key_id,
    selector: row.selector,
    maxUnavailable,
    pauseMs: row.pause_ms,
    timeoutSeconds: row.timeout_seconds,
    allowDowngrade: row.allow_downgrade === 1,
    includeCloud: row.include_cloud === 1,
    state: row.state,
    reason: row.reason,
    batchOpen: row.batch_open === 1,
    batchEndedAt: row.batch_ended_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
