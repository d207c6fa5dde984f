// The namespaces an apply's objects are in that do not exist yet: created first, in the apply's
// transaction, each with a Created event (Kubernetes makes you create them; levee creates them on
// first use, as `kubectl apply` users expect from a namespace in their manifest).
import type { Database } from "bun:sqlite";
import { DEFAULT_NAMESPACE, namespaceOf } from "../manifest/namespace.ts";
import type { ApplyResult, ManifestObject, PendingEvent } from "./apply-result.ts";
import { getObject, upsertObject } from "./resource-store.ts";

/** Creates the namespaces `objects` are in that do not exist yet (not those the request itself makes). */
export function createMissingNamespaces(
  db: Database,
  objects: readonly ManifestObject[],
  pending: PendingEvent[],
): ApplyResult[] {
  const inRequest = new Set(objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
  const wanted = new Set(objects.map(namespaceOf).filter((ns) => ns !== "" && ns !== DEFAULT_NAMESPACE));
  const results: ApplyResult[] = [];
  for (const namespace of wanted) {
    if (inRequest.has(namespace) || getObject(db, "Namespace", namespace)) continue;
    upsertObject(db, "Namespace", namespace, {}, {});
    pending.push({
      kind: "Namespace",
      name: namespace,
      reason: "Created",
      message: "for the objects applied into it",
    });
    results.push({ kind: "Namespace", name: namespace, outcome: "created", generation: 1 });
  }
  return results;
}
