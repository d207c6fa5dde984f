// The cloud link's store functions (sync-store.ts) bound to one store: what the link's handlers
// and its write-back are given, so that a test can hand them a store of its own or a fake.
import type { Hello, RouteStatusEntry, StagingEntry, WorkerStatus } from "../../protocol/messages.ts";
import type { UsageReport } from "../../protocol/usage.ts";
import type { Store } from "../../store/store.ts";
import { recordStaging } from "../staging-store.ts";
import { recordUsage } from "../usage-store.ts";
import {
  type AppliedReport,
  countNodes,
  nodeExists,
  nodesBehind,
  type PlanHead,
  readPlan,
  readPlanHead,
  recordAck,
  recordHeartbeat,
  recordHello,
  recordPlansSent,
  recordRoutes,
  recordWorkerStatus,
  setPresence,
  touchNodes,
} from "./sync-store.ts";

export interface SyncRecords {
  nodeExists(node: string): boolean;
  countNodes(): number;
  readPlanHead(node: string): PlanHead | undefined;
  readPlan(node: string): { revision: number; hash: string; plan: string } | undefined;
  nodesBehind(): string[];
  /** What the hello says the node runs, recorded, and the node's plan head. */
  recordHello(node: string, hello: Hello, epoch: string, at: string): AppliedReport;
  /** The heartbeat's applied revision, recorded, and the node's plan head. */
  recordHeartbeat(
    node: string,
    beat: { epoch: string | null; appliedRevision: number },
    epoch: string,
  ): AppliedReport & { online: boolean };
  recordAck(
    node: string,
    ack: { epoch: string; revision: number; hash: string },
    epoch: string,
    at: string,
  ): "matched" | "other" | "unsent";
  recordWorkerStatus(node: string, workers: readonly WorkerStatus[], at: string): void;
  recordRoutes(node: string, routes: readonly RouteStatusEntry[], at: string): void;
  /** A node's staging reports, whole; true when one became ready (a re-plan may let it switch). */
  recordStaging(node: string, entries: readonly StagingEntry[], at: string): boolean;
  /** The usage a heartbeat carried (usage-store.ts). */
  recordUsage(node: string, usage: UsageReport, at: string): void;
  setPresence(node: string, online: boolean): void;
  touchNodes(lastSeen: ReadonlyMap<string, string>): void;
  recordPlansSent(sent: Iterable<[node: string, plan: { revision: number; at: string }]>): void;
}

export function syncRecords(store: Store): SyncRecords {
  return {
    nodeExists: (node) => nodeExists(store, node),
    countNodes: () => countNodes(store),
    readPlanHead: (node) => readPlanHead(store, node),
    readPlan: (node) => readPlan(store, node),
    nodesBehind: () => nodesBehind(store),
    recordHello: (node, hello, epoch, at) => recordHello(store, node, hello, epoch, at),
    recordHeartbeat: (node, beat, epoch) => recordHeartbeat(store, node, beat, epoch),
    recordAck: (node, ack, epoch, at) => recordAck(store, node, ack, epoch, at),
    recordWorkerStatus: (node, workers, at) => recordWorkerStatus(store, node, workers, at),
    recordRoutes: (node, routes, at) => recordRoutes(store, node, routes, at),
    recordStaging: (node, entries, at) => recordStaging(store.db, node, entries, at),
    recordUsage: (node, usage, at) => recordUsage(store, node, usage, at),
    setPresence: (node, online) => setPresence(store, node, online),
    touchNodes: (lastSeen) => touchNodes(store, lastSeen),
    recordPlansSent: (sent) => recordPlansSent(store, sent),
  };
}
