// The shapes `levee ctl` reads from the cloud API, taken from the modules that serve them (type
// imports only: nothing of the cloud is loaded into the client).
export type { ApiIssue } from "../../cloud/api/errors.ts";
export type { ApplyResult, LeveeEvent as EventView } from "../../cloud/control-plane.ts";
export type { CreatedToken } from "../../cloud/join-tokens.ts";
export type { NodeView } from "../../cloud/node-registry.ts";
export type { StoredObject } from "../../cloud/resource-store.ts";
export type { WorkerView } from "../../cloud/workers-view.ts";

export interface ListOf<T> {
  items: T[];
}

/** GET /api/v1/routes: a mesh route as its node reported it. */
export interface RouteView {
  node: string;
  service: string;
  kind: "service-port" | "upstream";
  port: number;
  state: string;
  message: string;
  since: string;
}
