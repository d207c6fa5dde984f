// Nodes as the cloud knows them: joining (identity + MQTT credentials), labels, and the status view
// the API serves (phase, last seen, addresses, plan revisions). The sync link updates presence and
// phase in the same table; this module is the one place that creates nodes.
import { randomBytes, randomUUID } from "node:crypto";
import { canonicalJson } from "../manifest/canonical.ts";
import type { NodeRole } from "../mesh/contracts.ts";
import type { Store } from "../store/store.ts";
import { isScheduling, type Scheduling } from "./drain.ts";
import { revokeNodeCertificates } from "./node-certificates.ts";
import { nodeLabels, roleOf, withoutSystemLabels } from "./node-labels.ts";

export interface JoinRequest {
  name: string;
  /** The node's own labels; labels under levee.io/ are the cloud's (the join route refuses them). */
  labels: Record<string, string>;
  addresses: string[];
  agentVersion: string;
  arch: string;
  /** Present when an already joined node joins again (e.g. after its address changed). */
  credentials?: { username: string; password: string };
}

export interface Credentials {
  username: string;
  password: string;
}

export interface PasswordHasher {
  hash(password: string): string;
  verify(password: string, hash: string): boolean;
}

export type JoinOutcome =
  | { kind: "joined"; uid: string; credentials: Credentials }
  | { kind: "rejoined"; uid: string; credentials: Credentials }
  | { kind: "name-taken" };

export interface NodeView {
  apiVersion: "levee/v1";
  kind: "Node";
  metadata: { name: string; uid: string; labels: Record<string, string>; creationTimestamp: string };
  status: {
    phase: string;
    phaseSince: string;
    lastSeen: string | null;
    online: boolean;
    addresses: string[];
    agentVersion: string;
    arch: string;
    plan: { desiredRevision: number; appliedRevision: number };
    /** Present when new nodeSelector workers are not placed here (levee ctl cordon or drain). */
    scheduling?: "Cordoned" | "Draining";
  };
}

interface NodeRow {
  name: string;
  uid: string;
  labels: string;
  addresses: string;
  mqtt_password_hash: string;
  agent_version: string;
  arch: string;
  joined_at: string;
  last_seen: string | null;
  online: number;
  role: string;
  phase: string;
  phase_since: string;
  scheduling: string;
  revision: number | null;
  applied_revision: number | null;
}

const NODE_SELECT = `SELECT n.*, p.revision, p.applied_revision FROM nodes n LEFT JOIN plans p ON p.node = n.name`;

/**
 * Joins a node. A new name gets fresh credentials; an existing name is accepted again only with
 * its own credentials (so a second device cannot take over a name), keeping them unchanged.
 * `beforeCreate` runs inside the same transaction (it consumes the join token). `role` comes from
 * how the agent joined (the cloud registers itself as "cloud"; every join over the API is "edge"),
 * never from what the node sends; system labels in `request.labels` are dropped.
 */
export function joinNode(
  store: Store,
  hasher: PasswordHasher,
  request: JoinRequest,
  beforeCreate: () => void,
  role: NodeRole = "edge",
): JoinOutcome {
  return store.tx((db) => {
    const existing = db
      .query<{ uid: string; mqtt_password_hash: string }, [string]>(
        "SELECT uid, mqtt_password_hash FROM nodes WHERE name = ?",
      )
      .get(request.name);
    const now = new Date().toISOString();
    if (existing) {
      const c = request.credentials;
      if (!c || c.username !== request.name || !hasher.verify(c.password, existing.mqtt_password_hash)) {
        return { kind: "name-taken" } as const;
      }
      db.query("UPDATE nodes SET addresses = ?, agent_version = ?, arch = ? WHERE name = ?").run(
        JSON.stringify(request.addresses),
        request.agentVersion,
        request.arch,
        request.name,
      );
      return { kind: "rejoined", uid: existing.uid, credentials: c } as const;
    }
    beforeCreate();
    const uid = randomUUID();
    const password = randomBytes(24).toString("base64url");
    db.query(
      `INSERT INTO nodes (name, uid, labels, addresses, mqtt_password_hash, agent_version, arch, joined_at, role, phase, phase_since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'Disconnected', ?)`,
    ).run(
      request.name,
      uid,
      JSON.stringify(withoutSystemLabels(request.labels)),
      JSON.stringify(request.addresses),
      hasher.hash(password),
      request.agentVersion,
      request.arch,
      now,
      role,
      now,
    );
    return { kind: "joined", uid, credentials: { username: request.name, password } } as const;
  });
}

function toView(row: NodeRow): NodeView {
  return {
    apiVersion: "levee/v1",
    kind: "Node",
    metadata: {
      name: row.name,
      uid: row.uid,
      labels: nodeLabels(JSON.parse(row.labels), roleOf(row.role)),
      creationTimestamp: row.joined_at,
    },
    status: {
      phase: row.phase,
      phaseSince: row.phase_since,
      lastSeen: row.last_seen,
      online: row.online === 1,
      addresses: JSON.parse(row.addresses),
      agentVersion: row.agent_version,
      arch: row.arch,
      plan: { desiredRevision: row.revision ?? 0, appliedRevision: row.applied_revision ?? 0 },
      ...(row.scheduling === "cordoned" ? { scheduling: "Cordoned" as const } : {}),
      ...(row.scheduling === "draining" ? { scheduling: "Draining" as const } : {}),
    },
  };
}

export function listNodes(store: Store): NodeView[] {
  return store.db.query<NodeRow, []>(`${NODE_SELECT} ORDER BY n.name`).all().map(toView);
}

export function getNode(store: Store, name: string): NodeView | undefined {
  const row = store.db.query<NodeRow, [string]>(`${NODE_SELECT} WHERE n.name = ?`).get(name);
  return row ? toView(row) : undefined;
}

/**
 * Name, labels, phase and scheduling (cordon, drain) of every node (or only the named one): what
 * the planner places workers on.
 */
export function nodesForPlanning(
  store: Store,
  only?: string,
): {
  name: string;
  labels: Record<string, string>;
  phase: string;
  scheduling: Scheduling;
  downloadBandwidth?: number;
}[] {
  type Row = {
    name: string;
    labels: string;
    role: string;
    phase: string;
    scheduling: string;
    bandwidth: number | null;
  };
  const columns = "SELECT name, labels, role, phase, scheduling, download_bandwidth AS bandwidth FROM nodes";
  const rows =
    only === undefined
      ? store.db.query<Row, []>(`${columns} ORDER BY name`).all()
      : store.db.query<Row, [string]>(`${columns} WHERE name = ?`).all(only);
  return rows.map((r) => ({
    name: r.name,
    labels: nodeLabels(JSON.parse(r.labels), roleOf(r.role)),
    phase: r.phase,
    scheduling: isScheduling(r.scheduling) ? r.scheduling : "enabled",
    ...(r.bandwidth !== null ? { downloadBandwidth: r.bandwidth } : {}),
  }));
}

/** Sets the cap on a node's downloads (bytes/s; null: none): "missing" when it has not joined. */
export function setNodeBandwidth(
  store: Store,
  name: string,
  bytesPerSecond: number | null,
): "missing" | "changed" | "unchanged" {
  const row = store.db
    .query<{ bandwidth: number | null }, [string]>(
      "SELECT download_bandwidth AS bandwidth FROM nodes WHERE name = ?",
    )
    .get(name);
  if (!row) return "missing";
  if (row.bandwidth === bytesPerSecond) return "unchanged";
  store.db.query("UPDATE nodes SET download_bandwidth = ? WHERE name = ?").run(bytesPerSecond, name);
  return "changed";
}

/** Sets whether new nodeSelector workers go to a node: "missing" when it has not joined. */
export function setNodeScheduling(
  store: Store,
  name: string,
  scheduling: Scheduling,
): "missing" | "changed" | "unchanged" {
  const row = store.db
    .query<{ scheduling: string }, [string]>("SELECT scheduling FROM nodes WHERE name = ?")
    .get(name);
  if (!row) return "missing";
  if (row.scheduling === scheduling) return "unchanged";
  store.db.query("UPDATE nodes SET scheduling = ? WHERE name = ?").run(scheduling, name);
  return "changed";
}

/** A node's role (how it joined), or undefined when it has not joined. */
export function nodeRole(store: Store, name: string): NodeRole | undefined {
  const row = store.db.query<{ role: string }, [string]>("SELECT role FROM nodes WHERE name = ?").get(name);
  return row ? roleOf(row.role) : undefined;
}

/**
 * Sets a node's own labels (system labels are not stored: they come from its role): "missing" when
 * it has not joined, else whether they changed.
 */
export function setNodeLabels(
  store: Store,
  name: string,
  labels: Record<string, string>,
): "missing" | "changed" | "unchanged" {
  const row = store.db
    .query<{ labels: string }, [string]>("SELECT labels FROM nodes WHERE name = ?")
    .get(name);
  if (!row) return "missing";
  const own = withoutSystemLabels(labels);
  if (canonicalJson(JSON.parse(row.labels)) === canonicalJson(own)) return "unchanged";
  store.db.query("UPDATE nodes SET labels = ? WHERE name = ?").run(JSON.stringify(own), name);
  return "changed";
}

export function deleteNode(store: Store, name: string): boolean {
  return store.tx((db) => {
    db.query("DELETE FROM plans WHERE node = ?").run(name);
    db.query("DELETE FROM worker_status WHERE node = ?").run(name);
    const deleted = db.query("DELETE FROM nodes WHERE name = ?").run(name).changes > 0;
    // Its mesh certificates stop working on every node (the catalog ships them revoked).
    if (deleted) revokeNodeCertificates(db, name);
    return deleted;
  });
}
