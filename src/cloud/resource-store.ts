// Resources (Service, Config, ...) in the cloud's SQLite: one row per object under its key (its
// name, qualified by its namespace outside `default`: src/manifest/namespace.ts), spec and labels
// as JSON, a generation that grows when the spec changes and a cloud-wide resourceVersion for
// optimistic concurrency. Every write here runs inside the caller's transaction (apply, delete).

import type { Database } from "bun:sqlite";
import { randomUUID } from "node:crypto";
import { canonicalJson } from "../manifest/canonical.ts";
import { isNamespaced, qualifiedName, splitKey } from "../manifest/namespace.ts";
import { redactSecret, type SecretSpec } from "../manifest/secret.ts";

/**
 * An object as the API shows it. Services keep their spec under `spec`; a Config's files are at the
 * top level (`data`, `binaryData`) as in its manifest, so `get -o yaml` output can be applied again.
 * A Secret shows its keys with the size of each value instead of the value (it cannot be applied
 * back: a redacted value is not base64).
 */
export interface StoredObject {
  apiVersion: "levee/v1";
  kind: string;
  type?: string;
  data?: unknown;
  binaryData?: unknown;
  metadata: {
    name: string;
    /** Absent for cluster-wide kinds (Node, ImageMap, Namespace). */
    namespace?: string;
    uid: string;
    generation: number;
    resourceVersion: string;
    labels: Record<string, string>;
    creationTimestamp: string;
    updatedTimestamp: string;
  };
  spec?: Record<string, unknown>;
}

interface Row {
  kind: string;
  /** The key: the name, qualified by the namespace outside `default`. */
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resource_version: number;
  labels: string;
  spec: string;
  created_at: string;
  updated_at: string;
}

function toObject(row: Row): StoredObject {
  const metadata = {
    ...(isNamespaced(row.kind) ? splitKey(row.name) : { name: row.name }),
    uid: row.uid,
    generation: row.generation,
    resourceVersion: String(row.resource_version),
    labels: JSON.parse(row.labels),
    creationTimestamp: row.created_at,
    updatedTimestamp: row.updated_at,
  };
  const spec = JSON.parse(row.spec) as Record<string, unknown>;
  if (row.kind === "Config") return { apiVersion: "levee/v1", kind: row.kind, metadata, ...spec };
  // A Secret's values never leave the store through an object: keys and sizes only (secretSpec()).
  if (row.kind === "Secret")
    return { apiVersion: "levee/v1", kind: row.kind, metadata, ...redactSecret(spec as SecretSpec) };
  return { apiVersion: "levee/v1", kind: row.kind, metadata, spec };
}

/** The stored spec of an object (for Configs: {data, binaryData}; for Secrets: redacted). */
export function storedSpec(object: StoredObject): Record<string, unknown> {
  if (object.kind === "Config") return { data: object.data ?? {}, binaryData: object.binaryData ?? {} };
  if (object.kind === "Secret") return { type: object.type, data: object.data ?? {} };
  return object.spec ?? {};
}

/** The store key of a stored object (its name, qualified by its namespace outside `default`). */
export function storedKey(object: StoredObject): string {
  return qualifiedName(object.metadata.namespace, object.metadata.name);
}

/** The values of the Secrets (by key), or of one: only for the planner and the nodes' content. */
export function secretSpecs(db: Database, key?: string): Map<string, SecretSpec> {
  const rows =
    key === undefined
      ? db.query<Row, []>("SELECT * FROM resources WHERE kind = 'Secret'").all()
      : db.query<Row, [string]>("SELECT * FROM resources WHERE kind = 'Secret' AND name = ?").all(key);
  return new Map(rows.map((row) => [row.name, JSON.parse(row.spec) as SecretSpec]));
}

/** An object by its key (src/manifest/namespace.ts: objectKey). */
export function getObject(db: Database, kind: string, key: string): StoredObject | undefined {
  const row = db
    .query<Row, [string, string]>("SELECT * FROM resources WHERE kind = ? AND name = ?")
    .get(kind, key);
  return row ? toObject(row) : undefined;
}

/** Objects of a kind, by key; in one namespace when `namespace` is given. */
export function listObjects(
  db: Database,
  kind: string,
  filter: { namespace?: string; labels?: Record<string, string> } = {},
): StoredObject[] {
  const rows =
    filter.namespace === undefined
      ? db.query<Row, [string]>("SELECT * FROM resources WHERE kind = ? ORDER BY name").all(kind)
      : db
          .query<Row, [string, string]>(
            "SELECT * FROM resources WHERE kind = ? AND namespace = ? ORDER BY name",
          )
          .all(kind, filter.namespace);
  const all = rows.map(toObject);
  const labels = filter.labels;
  if (!labels) return all;
  return all.filter((o) => Object.entries(labels).every(([k, v]) => o.metadata.labels[k] === v));
}

function nextResourceVersion(db: Database): number {
  const row = db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'resource-version'").get();
  const next = Number(row?.value ?? "0") + 1;
  db.query(
    "INSERT INTO meta (key, value) VALUES ('resource-version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(String(next));
  return next;
}

export type ApplyOutcome = "created" | "configured" | "unchanged";

/** Creates or updates an object (by key); "unchanged" when spec and labels are the same as stored. */
export function upsertObject(
  db: Database,
  kind: string,
  name: string,
  labels: Record<string, string>,
  spec: Record<string, unknown>,
): { outcome: ApplyOutcome; object: StoredObject } {
  const existing = getObject(db, kind, name);
  const now = new Date().toISOString();
  if (!existing) {
    const rv = nextResourceVersion(db);
    const namespace = isNamespaced(kind) ? splitKey(name).namespace : "";
    db.query(
      `INSERT INTO resources (kind, name, namespace, uid, generation, resource_version, labels, spec, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
    ).run(kind, name, namespace, randomUUID(), rv, JSON.stringify(labels), JSON.stringify(spec), now, now);
    return { outcome: "created", object: getObject(db, kind, name) as StoredObject };
  }
  const specChanged = canonicalJson(storedSpec(existing)) !== canonicalJson(spec);
  const labelsChanged = canonicalJson(existing.metadata.labels) !== canonicalJson(labels);
  if (!specChanged && !labelsChanged) return { outcome: "unchanged", object: existing };
  const rv = nextResourceVersion(db);
  db.query(
    `UPDATE resources SET generation = generation + ?, resource_version = ?, labels = ?, spec = ?, updated_at = ?
     WHERE kind = ? AND name = ?`,
  ).run(specChanged ? 1 : 0, rv, JSON.stringify(labels), JSON.stringify(spec), now, kind, name);
  return { outcome: "configured", object: getObject(db, kind, name) as StoredObject };
}

export function deleteObject(db: Database, kind: string, name: string): boolean {
  return db.query("DELETE FROM resources WHERE kind = ? AND name = ?").run(kind, name).changes > 0;
}

export function recordEvent(
  db: Database,
  kind: string,
  name: string,
  reason: string,
  message: string,
): number {
  const result = db
    .query("INSERT INTO events (ts, kind, name, reason, message) VALUES (?, ?, ?, ?, ?)")
    .run(new Date().toISOString(), kind, name, reason, message);
  return Number(result.lastInsertRowid);
}
