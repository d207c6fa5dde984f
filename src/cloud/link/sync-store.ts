// The cloud's SQL for the sync protocol: presence and liveness of nodes, what each node has
// acknowledged of its plan, the worker status nodes report, and the cloud's epoch. The plans rows
// themselves are created by the planner (plan-writer.ts); this module only records delivery
// (sent_at) and acknowledgement (applied_*, acked_at). Also the broker's credential authority.
// The cloud link's handlers call these through sync-records.ts, inside the link's batch
// transaction (group-commit.ts), where each store.tx is a savepoint.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { NodePhase } from "../../protocol/heartbeat.ts";
import type { Hello, RouteStatusEntry, WorkerStatus } from "../../protocol/messages.ts";
import { verifyPassword } from "../../protocol/mosquitto-password.ts";
import { CLOUD_USER } from "../../protocol/topics.ts";
import type { Store } from "../../store/store.ts";
import type { BrokerAuthority } from "../broker.ts";

/** The cloud database's epoch: made once, at first use (docs/PROTOCOL.md, "Roles"). */
export function cloudEpoch(store: Store): string {
  const existing = store.getMeta("epoch");
  if (existing) return existing;
  return store.tx(() => {
    const again = store.getMeta("epoch");
    if (again) return again;
    const epoch = randomUUID();
    store.setMeta("epoch", epoch);
    return epoch;
  });
}

export function nodeExists(store: Store, node: string): boolean {
  return (
    store.db.query<{ one: number }, [string]>("SELECT 1 AS one FROM nodes WHERE name = ?").get(node) !== null
  );
}

export function countNodes(store: Store): number {
  return store.db.query<{ n: number }, []>("SELECT count(*) AS n FROM nodes").get()?.n ?? 0;
}

export interface PlanHead {
  revision: number;
  hash: string;
  appliedRevision: number;
  appliedHash: string;
  sentAt: string | null;
}

export function readPlanHead(store: Store, node: string): PlanHead | undefined {
  return (
    store.db
      .query<PlanHead, [string]>(
        `SELECT revision, hash, applied_revision AS appliedRevision, applied_hash AS appliedHash,
                sent_at AS sentAt FROM plans WHERE node = ?`,
      )
      .get(node) ?? undefined
  );
}

export function readPlan(
  store: Store,
  node: string,
): { revision: number; hash: string; plan: string } | undefined {
  return (
    store.db
      .query<{ revision: number; hash: string; plan: string }, [string]>(
        "SELECT revision, hash, plan FROM plans WHERE node = ?",
      )
      .get(node) ?? undefined
  );
}

/**
 * Writes when plans went out (the cloud link keeps them in memory and writes them in batches): a
 * row whose revision moved on since is left alone (its sent_at is NULL until its plan is sent).
 */
export function recordPlansSent(
  store: Store,
  sent: Iterable<[node: string, plan: { revision: number; at: string }]>,
): void {
  store.tx((db) => {
    const mark = db.query("UPDATE plans SET sent_at = ? WHERE node = ? AND revision = ?");
    for (const [node, { revision, at }] of sent) mark.run(at, node, revision);
  });
}

/**
 * What a node says about the plan it runs (hello, heartbeat, ack), checked against the plan the
 * cloud holds for it: "unsent" when it cannot be one the cloud sent (a revision beyond the
 * node's plan, or its revision with another hash); nothing is recorded then.
 */
export type AppliedOutcome = "recorded" | "unsent";

/** What a report of the node's plan came to, and the node's plan head (as recorded, if it was). */
export interface AppliedReport {
  applied: AppliedOutcome;
  head: PlanHead | undefined;
}

/**
 * Records what the node reports it runs: within our epoch its revision, else nothing of ours (0).
 * The applied hash is the plan's own only when the node named exactly it; a heartbeat (no hash)
 * keeps a hash already verified for that revision; any other report leaves it empty (unverified).
 * The plan head read for the check is returned, so the handler need not read it again; the row is
 * written only when what it records changed.
 */
function setApplied(
  store: Store,
  node: string,
  sameEpoch: boolean,
  revision: number,
  hash: string | null,
): AppliedReport {
  const head = readPlanHead(store, node);
  if (!head) return { applied: sameEpoch && revision > 0 ? "unsent" : "recorded", head };
  let appliedRevision = 0;
  let appliedHash = "";
  if (sameEpoch) {
    if (revision > head.revision) return { applied: "unsent", head };
    if (revision === head.revision && hash !== null && hash !== head.hash) return { applied: "unsent", head };
    appliedRevision = revision;
    if (revision === head.revision && hash === head.hash) appliedHash = head.hash;
    else if (revision === head.revision && hash === null && head.appliedRevision === revision)
      appliedHash = head.appliedHash;
  }
  if (head.appliedRevision === appliedRevision && head.appliedHash === appliedHash)
    return { applied: "recorded", head };
  store.db
    .query("UPDATE plans SET applied_revision = ?, applied_hash = ? WHERE node = ?")
    .run(appliedRevision, appliedHash, node);
  return { applied: "recorded", head: { ...head, appliedRevision, appliedHash } };
}

export function recordHello(
  store: Store,
  node: string,
  hello: Hello,
  epoch: string,
  at: string,
): AppliedReport {
  return store.tx((db) => {
    db.query(
      `UPDATE nodes SET online = 1, last_seen = ?, boot_id = ?, addresses = ?, agent_version = ?
       WHERE name = ?`,
    ).run(at, hello.bootId, JSON.stringify(hello.addresses), hello.agentVersion, node);
    return setApplied(store, node, hello.epoch === epoch, hello.appliedRevision, hello.planHash);
  });
}

/**
 * A heartbeat's applied revision (last_seen is kept in memory and written by touchNodes). A
 * heartbeat also proves the node is connected now: a missed or stale "online" presence heals
 * here. `online` is true when that flipped the node back online.
 */
export function recordHeartbeat(
  store: Store,
  node: string,
  beat: { epoch: string | null; appliedRevision: number },
  epoch: string,
): AppliedReport & { online: boolean } {
  const report = setApplied(store, node, beat.epoch === epoch, beat.appliedRevision, null);
  const online =
    store.db.query("UPDATE nodes SET online = 1 WHERE name = ? AND online = 0").run(node).changes > 0;
  return { ...report, online };
}

/** Writes many nodes' last_seen in one transaction (one fsync, not one per heartbeat). */
export function touchNodes(store: Store, lastSeen: ReadonlyMap<string, string>): void {
  if (lastSeen.size === 0) return;
  store.tx((db) => {
    const touch = db.query(
      "UPDATE nodes SET last_seen = ? WHERE name = ? AND (last_seen IS NULL OR last_seen < ?)",
    );
    for (const [node, at] of lastSeen) touch.run(at, node, at);
  });
}

/**
 * An ack of exactly the desired (epoch, revision, hash): the node has its plan ("matched"). An
 * ack of an older revision is recorded unverified ("other"); one of a plan the cloud never sent
 * ("unsent") is not recorded.
 */
export function recordAck(
  store: Store,
  node: string,
  ack: { epoch: string; revision: number; hash: string },
  epoch: string,
  at: string,
): "matched" | "other" | "unsent" {
  return store.tx((db) => {
    db.query("UPDATE nodes SET last_seen = ? WHERE name = ?").run(at, node);
    const matched =
      ack.epoch === epoch &&
      db
        .query(
          `UPDATE plans SET applied_revision = revision, applied_hash = hash, acked_at = ?
           WHERE node = ? AND revision = ? AND hash = ?`,
        )
        .run(at, node, ack.revision, ack.hash).changes > 0;
    if (matched) return "matched";
    return setApplied(store, node, ack.epoch === epoch, ack.revision, ack.hash).applied === "unsent"
      ? "unsent"
      : "other";
  });
}

export function recordWorkerStatus(
  store: Store,
  node: string,
  workers: readonly WorkerStatus[],
  at: string,
): void {
  store.tx((db) => {
    db.query("UPDATE nodes SET last_seen = ? WHERE name = ?").run(at, node);
    const upsert = db.query(
      `INSERT INTO worker_status (service, node, idx, phase, ready, restarts, message, exit_code, signal, since, updated_at, generation)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (service, node, idx) DO UPDATE SET phase = excluded.phase, ready = excluded.ready,
         restarts = excluded.restarts, message = excluded.message, exit_code = excluded.exit_code,
         signal = excluded.signal, since = excluded.since, updated_at = excluded.updated_at,
         generation = excluded.generation`,
    );
    for (const w of workers) {
      upsert.run(
        w.service,
        node,
        w.index,
        w.phase,
        w.ready ? 1 : 0,
        w.restarts,
        w.message,
        w.exitCode,
        w.signal,
        w.since,
        at,
        w.generation ?? null,
      );
    }
  });
}

/** A node's routes, whole: what it no longer reports is gone. */
export function recordRoutes(
  store: Store,
  node: string,
  routes: readonly RouteStatusEntry[],
  at: string,
): void {
  store.tx((db) => {
    db.query("DELETE FROM route_status WHERE node = ?").run(node);
    const insert = db.query(
      `INSERT OR REPLACE INTO route_status (node, service, kind, port, state, message, since, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of routes) insert.run(node, r.service, r.kind, r.port, r.state, r.message, r.since, at);
  });
}

/** GET /api/v1/routes: a mesh route as its node reported it. */
export type RouteRow = RouteStatusEntry & { node: string };

/** The routes the nodes reported, of one node and/or one service when given. */
export function listRoutes(
  store: Store,
  filter: { node?: string | undefined; service?: string | undefined },
): RouteRow[] {
  return store.db
    .query<RouteRow, [string | null, string | null]>(
      `SELECT node, service, kind, port, state, message, since FROM route_status
       WHERE (?1 IS NULL OR node = ?1) AND (?2 IS NULL OR service = ?2)
       ORDER BY node, service, kind, port`,
    )
    .all(filter.node || null, filter.service || null);
}

export function setPresence(store: Store, node: string, online: boolean): void {
  store.db.query("UPDATE nodes SET online = ? WHERE name = ?").run(online ? 1 : 0, node);
}

export interface NodeLiveness {
  name: string;
  online: boolean;
  lastSeen: string | null;
  phase: string;
  phaseSince: string;
}

export function readLiveness(store: Store, node?: string): NodeLiveness[] {
  const sql = `SELECT name, online, last_seen AS lastSeen, phase, phase_since AS phaseSince FROM nodes`;
  const rows =
    node === undefined
      ? store.db.query<Omit<NodeLiveness, "online"> & { online: number }, []>(sql).all()
      : store.db
          .query<Omit<NodeLiveness, "online"> & { online: number }, [string]>(`${sql} WHERE name = ?`)
          .all(node);
  return rows.map((r) => ({ ...r, online: r.online === 1 }));
}

/** Writes a phase change unless the row changed meanwhile (compare-and-set on the old phase). */
export function writePhase(store: Store, node: string, from: string, to: NodePhase, since: string): boolean {
  return (
    store.db
      .query("UPDATE nodes SET phase = ?, phase_since = ? WHERE name = ? AND phase = ?")
      .run(to, since, node, from).changes > 0
  );
}

/** The MQTT password hash of every node, plus nothing else (for a generated password file). */
export function nodePasswordHashes(store: Store): { username: string; hash: string }[] {
  return store.db
    .query<{ username: string; hash: string }, []>(
      "SELECT name AS username, mqtt_password_hash AS hash FROM nodes ORDER BY name",
    )
    .all();
}

/**
 * Who may connect to the embedded broker: levee-cloud with the cloud's own password (never a
 * node's, even if a node were named so), and each node with the password issued at its join.
 */
export function createBrokerAuthority(store: Store, cloudPassword: string): BrokerAuthority {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  const cloudDigest = digest(cloudPassword);
  const lookup = store.db.query<{ hash: string }, [string]>(
    "SELECT mqtt_password_hash AS hash FROM nodes WHERE name = ?",
  );
  return {
    verify(username, password) {
      if (username === CLOUD_USER)
        return cloudPassword !== "" && timingSafeEqual(digest(password), cloudDigest);
      const row = lookup.get(username);
      return row !== null && verifyPassword(password, row.hash);
    },
  };
}

/** Nodes whose acknowledged plan is not the desired one (to publish to after a reconnect). */
export function nodesBehind(store: Store): string[] {
  return store.db
    .query<{ node: string }, []>(
      `SELECT p.node FROM plans p JOIN nodes n ON n.name = p.node
       WHERE n.online = 1 AND (p.applied_revision != p.revision OR p.applied_hash != p.hash) ORDER BY p.node`,
    )
    .all()
    .map((r) => r.node);
}
