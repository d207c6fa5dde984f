// What the control plane answers and records: an apply's outcome per object (and, for a dry run,
// what would change), the nodes whose workers it changes, and the events it stores. Apart from
// control-plane.ts so that the API, the Kubernetes facade and the dashboard can name them without
// the write path.
import type { Warning } from "../manifest/dayu/warnings.ts";
import type { Resource } from "../manifest/kinds.ts";
import type { SpecChange } from "../manifest/spec-diff.ts";
import type { ObjectRef } from "./dayu/owners.ts";
import type { NodeChange } from "./plan-diff.ts";
import type { ApplyOutcome } from "./resource-store.ts";

/** An object as parsed from a manifest (validated by src/manifest). */
export type ManifestObject = Resource;

export interface ApplyResult {
  kind: string;
  name: string;
  /** Set for objects outside the `default` namespace. */
  namespace?: string;
  /** "deleted": an object its owner (a Dayu object in this request) no longer makes. */
  outcome: ApplyOutcome | "deleted";
  generation?: number;
  /** The Dayu object it was made from. */
  owner?: ObjectRef;
  /** What the translation of a Dayu object does not honour (paths in the object). */
  warnings?: Warning[];
  /** A dry run's: what changes in the stored spec and labels (`metadata.labels...`). */
  changes?: SpecChange[];
}

/** What an apply did, or would do (a dry run): each object's outcome and each node's workers. */
export interface ApplyPlan {
  results: ApplyResult[];
  /** The nodes whose plan changes, with what that does to their workers. */
  nodes: NodeChange[];
}

export interface LeveeEvent {
  id: number;
  ts: string;
  kind: string;
  name: string;
  reason: string;
  message: string;
}

/** An event before it is stored (its id and time come with the store). */
export type PendingEvent = Omit<LeveeEvent, "id" | "ts">;
