// The shapes `levee ctl` reads from the cloud API, taken from the modules that serve them (type
// imports only: nothing of the cloud is loaded into the client).
export type { CreatedToken } from "../../cloud/join-tokens.ts";
export type { NodeView } from "../../cloud/node-registry.ts";
export type { StoredObject } from "../../cloud/resource-store.ts";
export type { WorkerView } from "../../cloud/workers-view.ts";

/** One object of an apply answer: `{results: ApplyResult[]}`. */
export interface ApplyResult {
  kind: string;
  name: string;
  outcome: "created" | "configured" | "unchanged";
  generation?: number;
}

/** An entry of GET /api/v1/events (server-sent events, `data:` is this as JSON). */
export interface EventView {
  id: number;
  ts: string;
  kind: string;
  name: string;
  reason: string;
  message: string;
}

export interface ListOf<T> {
  items: T[];
}
