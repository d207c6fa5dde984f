// A stored Dayu object as the API shows it: the object as it was applied (apiVersion
// sedna.io/v1alpha1, its namespace, labels, annotations and spec), levee's system metadata (uid,
// generation, resourceVersion: applying the output again checks it), and a status: what it made,
// the mesh port, and its workers with their phase and readiness. Plus the stored form of a Dayu
// object read back (savedDayu), which the re-translation after an ImageMap change reads too.
import { SEDNA_API_VERSION } from "../../manifest/dayu/sedna-schema.ts";
import type { StoredObject } from "../resource-store.ts";
import { storedSpec } from "../resource-store.ts";
import type { WorkerView } from "../workers-view.ts";
import type { ObjectRef } from "./owners.ts";

export interface DayuView {
  apiVersion: typeof SEDNA_API_VERSION;
  kind: string;
  metadata: Record<string, unknown>;
  spec: unknown;
  status: {
    made: ObjectRef[];
    meshPort?: number;
    workers: Pick<WorkerView, "node" | "index" | "phase" | "ready" | "message">[];
    /** Workers ready / planned, as Sedna's active count. */
    ready: string;
  };
}

/** What the store keeps of a Dayu object as its spec (specOf in src/manifest/kinds.ts). */
export interface SavedDayu {
  namespace?: string;
  annotations?: Record<string, string>;
  spec?: unknown;
}

export function savedDayu(stored: StoredObject): SavedDayu {
  return storedSpec(stored) as SavedDayu;
}

export function dayuView(
  stored: StoredObject,
  made: readonly ObjectRef[],
  service: StoredObject | undefined,
  workers: readonly WorkerView[],
): DayuView {
  const saved = savedDayu(stored);
  const { name, uid, generation, resourceVersion, labels, creationTimestamp, updatedTimestamp } =
    stored.metadata;
  const metadata: Record<string, unknown> = { name, namespace: saved.namespace ?? "default", labels };
  if (saved.annotations && Object.keys(saved.annotations).length > 0)
    metadata.annotations = saved.annotations;
  Object.assign(metadata, { uid, generation, resourceVersion, creationTimestamp, updatedTimestamp });
  const meshPort = (service?.spec?.mesh as { port?: number } | undefined)?.port;
  const mine = workers.map(({ node, index, phase, ready, message }) => ({
    node,
    index,
    phase,
    ready,
    message,
  }));
  return {
    apiVersion: SEDNA_API_VERSION,
    kind: stored.kind,
    metadata,
    spec: saved.spec ?? {},
    status: {
      made: [...made],
      ...(meshPort !== undefined ? { meshPort } : {}),
      workers: mine,
      ready: `${mine.filter((w) => w.ready).length}/${mine.length}`,
    },
  };
}
