// Who created which object: a JointMultiEdgeService (or RuntimeService) owns the Service made from
// it. The record (owned_resources in the cloud's SQLite) is the truth that delete and update use,
// never a name prefix; the owned objects also carry two labels so that people see it
// (`levee ctl get service controller -o yaml`). Runs inside the caller's transaction.
import type { Database } from "bun:sqlite";
import { refOf } from "../../manifest/namespace.ts";

/** An object by kind and key (src/manifest/namespace.ts). */
export interface ObjectRef {
  kind: string;
  name: string;
}

export const OWNER_KIND_LABEL = "levee.io/owner-kind";
export const OWNER_NAME_LABEL = "levee.io/owner-name";

/** The owner's kind and name (the owned object is in its owner's namespace). */
export function ownerLabels(owner: ObjectRef): Record<string, string> {
  return { [OWNER_KIND_LABEL]: owner.kind, [OWNER_NAME_LABEL]: refOf(owner.kind, owner.name).name };
}

/** `Service/controller`, or `Service/controller (namespace dayu)` for a key outside `default`. */
export function describeRef(ref: ObjectRef): string {
  const { name, namespace } = refOf(ref.kind, ref.name);
  return `${ref.kind}/${name}${namespace ? ` (namespace ${namespace})` : ""}`;
}

export function ownerOf(db: Database, object: ObjectRef): ObjectRef | undefined {
  const row = db
    .query<{ owner_kind: string; owner_name: string }, [string, string]>(
      "SELECT owner_kind, owner_name FROM owned_resources WHERE kind = ? AND name = ?",
    )
    .get(object.kind, object.name);
  return row ? { kind: row.owner_kind, name: row.owner_name } : undefined;
}

export function ownedBy(db: Database, owner: ObjectRef): ObjectRef[] {
  return db
    .query<ObjectRef, [string, string]>(
      "SELECT kind, name FROM owned_resources WHERE owner_kind = ? AND owner_name = ? ORDER BY kind, name",
    )
    .all(owner.kind, owner.name);
}

/** Records that `owner` owns exactly `objects` (what it owned before and not now is forgotten). */
export function setOwned(db: Database, owner: ObjectRef, objects: readonly ObjectRef[]): void {
  db.query("DELETE FROM owned_resources WHERE owner_kind = ? AND owner_name = ?").run(owner.kind, owner.name);
  const insert = db.query(
    "INSERT INTO owned_resources (kind, name, owner_kind, owner_name) VALUES (?, ?, ?, ?)",
  );
  for (const object of objects) insert.run(object.kind, object.name, owner.kind, owner.name);
}
