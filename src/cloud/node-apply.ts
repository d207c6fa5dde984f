// Applying a Node manifest: it sets the labels of a node that joined (nodes are made by joining,
// never by an apply), in the apply's transaction. System labels (`levee.io/...`) other than the
// node's own are refused (400); an unknown node is a 404 saying how nodes are made.
import { diffSpecs, type SpecChange } from "../manifest/spec-diff.ts";
import type { Store } from "../store/store.ts";
import { rejected } from "./api-error.ts";
import { systemLabelConflicts, withoutSystemLabels } from "./node-labels.ts";
import { nodeRole, setNodeLabels } from "./node-registry.ts";

export interface NodeLabelsApplied {
  outcome: "configured" | "unchanged";
  /** With `withChanges`, what changes in the node's own labels. */
  changes?: SpecChange[];
}

export function applyNodeLabels(
  store: Store,
  name: string,
  labels: Record<string, string>,
  withChanges: boolean,
): NodeLabelsApplied {
  const kind = "Node";
  const role = nodeRole(store, name);
  const conflicts = role === undefined ? [] : systemLabelConflicts(labels, role);
  if (conflicts.length > 0) {
    const issues = conflicts.map((c) => ({
      kind,
      name,
      path: `metadata.labels["${c.key}"]`,
      message: c.message,
    }));
    throw rejected(400, [issues[0] as (typeof issues)[number], ...issues.slice(1)]);
  }
  const before = withChanges ? storedLabels(store, name) : undefined;
  const labeled = setNodeLabels(store, name, labels);
  if (labeled === "missing") {
    throw rejected(404, [
      {
        kind,
        name,
        path: "metadata.name",
        message: `node "${name}" has not joined; nodes are created by 'levee edge --token', their labels can be applied after`,
      },
    ]);
  }
  if (labeled === "unchanged") return { outcome: "unchanged" };
  return {
    outcome: "configured",
    ...(before ? { changes: diffSpecs(before, withoutSystemLabels(labels), "metadata.labels") } : {}),
  };
}

function storedLabels(store: Store, name: string): Record<string, string> | undefined {
  const row = store.db
    .query<{ labels: string }, [string]>("SELECT labels FROM nodes WHERE name = ?")
    .get(name);
  return row ? (JSON.parse(row.labels) as Record<string, string>) : undefined;
}
