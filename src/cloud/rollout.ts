// Rollout history and undo of a Service or Dayu object, from the generations the apply kept
// (history-store.ts). An undo is an apply of the kept spec, validated again like any manifest, as
// a new generation (the same way `kubectl rollout undo` does it): every node converges to it
// through its plan, and the history grows instead of being rewritten. A Service made from a Dayu
// object is rolled back through its owner, whose translation makes it.
import type { Database } from "bun:sqlite";
import { SEDNA_API_VERSION } from "../manifest/dayu/sedna-schema.ts";
import { parseObject, type Resource } from "../manifest/manifest.ts";
import { describeKey, refOf } from "../manifest/namespace.ts";
import type { SpecChange } from "../manifest/spec-diff.ts";
import { ApiError, rejected } from "./api-error.ts";
import { specChanges } from "./apply-changes.ts";
import { describeRef, ownerOf } from "./dayu/owners.ts";
import type { SavedDayu } from "./dayu/views.ts";
import { HISTORY_KINDS, listGenerations } from "./history-store.ts";
import { getObject, type StoredObject } from "./resource-store.ts";

export interface HistoryEntry {
  generation: number;
  appliedAt: string;
  /** The generation the object has now. */
  current: boolean;
  /** What this generation changed from the one kept before it (absent for the oldest kept). */
  changes?: SpecChange[];
}

export interface RolloutHistory {
  kind: string;
  name: string;
  namespace?: string;
  generation: number;
  /** Newest first. */
  items: HistoryEntry[];
}

function stored(db: Database, kind: string, key: string): StoredObject {
  if (!HISTORY_KINDS.includes(kind))
    throw new ApiError(400, `${kind} has no rollout history (only ${HISTORY_KINDS.join(", ")})`);
  const object = getObject(db, kind, key);
  if (!object) throw new ApiError(404, `${kind} "${describeKey(key)}" not found`);
  return object;
}

/** The kept generations of an object, newest first, each with what it changed. */
export function rolloutHistory(db: Database, kind: string, key: string): RolloutHistory {
  const object = stored(db, kind, key);
  const kept = listGenerations(db, { kind, name: key });
  const items = kept.map((g, i): HistoryEntry => {
    const older = kept[i + 1];
    return {
      generation: g.generation,
      appliedAt: g.appliedAt,
      current: g.generation === object.metadata.generation,
      ...(older ? { changes: specChanges(kind, older.spec, g.spec) } : {}),
    };
  });
  return { ...refOf(kind, key), generation: object.metadata.generation, items };
}

/**
 * The manifest that rolls an object back to a kept generation: `toGeneration`, else the newest one
 * older than the current. Its labels are today's (a generation is the spec). An ApiError when the
 * object is missing, owned, or the generation is not kept or no longer valid.
 */
export function rollbackManifest(db: Database, kind: string, key: string, toGeneration?: number): Resource {
  const object = stored(db, kind, key);
  const owner = ownerOf(db, { kind, name: key });
  if (owner) {
    throw rejected(409, [
      {
        kind,
        name: key,
        path: "",
        message: `${kind} ${describeKey(key)} is made from ${describeRef(owner)}: roll back that instead`,
      },
    ]);
  }
  const current = object.metadata.generation;
  const kept = listGenerations(db, { kind, name: key });
  const target =
    toGeneration === undefined
      ? kept.find((g) => g.generation < current)
      : kept.find((g) => g.generation === toGeneration);
  if (!target) {
    const list = kept.map((g) => g.generation).join(", ") || "none";
    const wanted =
      toGeneration === undefined
        ? "no generation before the current one"
        : `generation ${toGeneration} is not`;
    throw rejected(404, [
      {
        kind,
        name: key,
        path: "toGeneration",
        message: `${kind} ${describeKey(key)}: ${wanted} kept (kept: ${list}; the current is ${current})`,
      },
    ]);
  }
  const manifest = manifestOf(object, target.spec);
  const parsed = parseObject(manifest);
  if (!parsed.ok || parsed.objects.length !== 1) {
    const issue = parsed.ok ? undefined : parsed.issues[0];
    throw rejected(409, [
      {
        kind,
        name: key,
        path: issue?.path ?? "",
        message: `generation ${target.generation} of ${kind} ${describeKey(key)} is no longer a valid manifest: ${issue?.message ?? "it makes more than one object"}`,
      },
    ]);
  }
  return parsed.objects[0] as Resource;
}

/** The manifest of an object with a kept spec (a Dayu object keeps its namespace and annotations in it). */
function manifestOf(object: StoredObject, spec: Record<string, unknown>): Record<string, unknown> {
  const { name, namespace, labels } = object.metadata;
  if (object.kind === "Service") {
    return {
      apiVersion: "levee/v1",
      kind: object.kind,
      metadata: { name, ...(namespace ? { namespace } : {}), labels },
      spec,
    };
  }
  const saved = spec as SavedDayu;
  return {
    apiVersion: SEDNA_API_VERSION,
    kind: object.kind,
    metadata: {
      name,
      ...(saved.namespace ? { namespace: saved.namespace } : {}),
      labels,
      ...(saved.annotations ? { annotations: saved.annotations } : {}),
    },
    spec: saved.spec,
  };
}
