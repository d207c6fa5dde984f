// What an apply changes, for its answer and for a dry run's: each object's fields (labels as
// `metadata.labels...`, then the spec; a Secret's paths only, never its values) and each re-planned
// node's workers (plan-diff.ts, against the plan the node had). And how a dry run leaves its
// transaction: by throwing its answer (DryRunDone), which rolls everything back.
import type { Database } from "bun:sqlite";
import { DAYU_KINDS } from "../manifest/dayu/sedna-schema.ts";
import type { NodePlan } from "../manifest/plan.ts";
import { diffSpecs, type SpecChange } from "../manifest/spec-diff.ts";
import { type NodeChange, workerChanges } from "./plan-diff.ts";
import type { PlanChange } from "./plan-writer.ts";
import { type StoredObject, storedSpec } from "./resource-store.ts";

/** Carries a dry run's answer out of its transaction, which throwing it rolls back. */
export class DryRunDone<T> extends Error {
  constructor(readonly answer: T) {
    super("dry run");
  }
}

/** What an apply changes in an object: its labels (as `metadata.labels`) and its spec. */
export function objectChanges(
  kind: string,
  before: StoredObject | undefined,
  labels: Record<string, string>,
  spec: Record<string, unknown>,
): SpecChange[] {
  const changes = [
    ...diffSpecs(before?.metadata.labels ?? {}, labels, "metadata.labels"),
    ...specChanges(kind, before ? storedSpec(before) : {}, spec),
  ];
  return kind === "Secret" ? changes.map(({ path, op }) => ({ path, op }) as SpecChange) : changes;
}

/**
 * The changes between two stored specs, named by their paths in the manifest: `spec.` for most
 * kinds, a Config's `data.`/`binaryData.` at the top, a Dayu object's `spec.` and
 * `metadata.annotations.` (the store keeps them, with its namespace, under one spec).
 */
export function specChanges(
  kind: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): SpecChange[] {
  if (kind === "Config") return diffSpecs(before, after, "");
  if (!(DAYU_KINDS as readonly string[]).includes(kind)) return diffSpecs(before, after, "spec");
  const shape = (saved: Record<string, unknown>) => ({
    metadata: { annotations: saved.annotations ?? {} },
    spec: saved.spec ?? {},
  });
  return diffSpecs(shape(before), shape(after));
}

/**
 * The worker changes of each node whose plan changed, from its plan before (`previous`, as
 * writePlans collected it) to the one now stored; call inside the transaction that wrote them.
 */
export function nodeChanges(
  db: Database,
  changes: readonly PlanChange[],
  previous: ReadonlyMap<string, NodePlan | undefined>,
): NodeChange[] {
  const stored = db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?");
  return changes.map(({ node, revision }) => {
    const now = JSON.parse(stored.get(node)?.plan ?? "null") as NodePlan | null;
    const after = now ?? { node, services: [], configFiles: {} };
    return { node, revision, workers: workerChanges(previous.get(node), after) };
  });
}
