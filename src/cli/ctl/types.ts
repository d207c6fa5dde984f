// The shapes `levee ctl` reads from the cloud API, taken from the modules that serve them (type
// imports only: nothing of the cloud is loaded into the client).
import type { Warning } from "../../manifest/dayu/warnings.ts";

export type { ApiIssue } from "../../cloud/api/errors.ts";
export type { ApplyResult, LeveeEvent as EventView } from "../../cloud/control-plane.ts";
export type { CreatedToken } from "../../cloud/join-tokens.ts";
export type { RouteRow as RouteView } from "../../cloud/link/sync-store.ts";
export type { NodeView } from "../../cloud/node-registry.ts";
export type { StoredObject } from "../../cloud/resource-store.ts";
export type { WorkerView } from "../../cloud/workers-view.ts";

export interface ListOf<T> {
  items: T[];
}

/** A warning of POST /api/v1/apply (or `convert`): what a Dayu object's translation does not honour. */
export interface ApplyWarning extends Warning {
  document?: number;
  kind?: string;
  name?: string;
}
