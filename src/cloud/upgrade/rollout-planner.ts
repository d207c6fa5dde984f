// The agent upgrade rollout's decisions, pure: from a rollout's settings and its nodes' states
// (with whether each is online and the version it runs), what changes now and which nodes get
// their order. The driver (upgrade-driver.ts) reads the store, calls this on every tick and on
// every report, writes what it says and sends the orders.
//
// Batches: a batch is ordered when none is in progress and --pause has passed since the last one
// ended; it takes up to --max-unavailable nodes (a count, or a percentage of the rollout's nodes,
// at least one), in the rollout's order, the cloud's own node last and only once every other node
// is done. A node offline when its turn comes is skipped (state offline) and taken again, in a
// later batch, when it is back. A node deleted from the cloud leaves the rollout (state skipped,
// whatever it was doing) and the others go on without it. The first node that fails or rolls back stops the rollout, which
// says which node and why. A node already at the version is done without an order.
import { compareVersions, type UpgradeState } from "../../protocol/upgrade.ts";

export type RolloutState = "running" | "paused" | "done" | "failed" | "aborted";
export type MaxUnavailable = { count: number } | { percent: number };

export interface RolloutView {
  state: RolloutState;
  version: string;
  maxUnavailable: MaxUnavailable;
  pauseMs: number;
  timeoutSeconds: number;
  allowDowngrade: boolean;
  batchOpen: boolean;
  /** ms; null before the first batch ended. */
  batchEndedAt: number | null;
}

export interface NodeView {
  node: string;
  state: UpgradeState;
  online: boolean;
  /** The node was deleted from the cloud (levee ctl delete node): it leaves the rollout. */
  deleted: boolean;
  /** The version the node reported last (its hello). */
  version: string;
  isCloud: boolean;
  /** When its order was last sent (ms), or null. */
  orderedAt: number | null;
  /** When its state last changed (ms). */
  updatedAt: number;
  /** Why it is in its state (a node's report, or the planner's). */
  reason: string;
}

export interface NodeChange {
  node: string;
  state: UpgradeState;
  reason?: string;
}

export interface RolloutStep {
  nodes: NodeChange[];
  /** Nodes to send the order to now (their orderedAt becomes now). */
  order: string[];
  rollout?: { state?: RolloutState; reason?: string; batchOpen?: boolean; batchEndedAt?: number };
}

export const IN_PROGRESS: ReadonlySet<UpgradeState> = new Set([
  "ordered",
  "downloading",
  "swapping",
  "waiting-for-health",
]);
const FINAL_FAILURE: ReadonlySet<UpgradeState> = new Set(["failed", "rolled-back"]);
/** A node in one of these states needs nothing more from the rollout. */
const FINISHED: ReadonlySet<UpgradeState> = new Set(["done", "skipped"]);
export const NODE_DELETED = "node deleted";

export interface PlannerTimes {
  /** An order not answered by a report is sent again after this long (ms). */
  resendMs: number;
  /** A node in progress that reports nothing for this long (ms) beyond the timeout has failed. */
  stallMs: number;
}

export const DEFAULT_TIMES: PlannerTimes = { resendMs: 10_000, stallMs: 15 * 60_000 };

/** How many nodes one batch may take. */
export function batchSize(max: MaxUnavailable, total: number): number {
  if ("count" in max) return Math.max(1, max.count);
  return Math.max(1, Math.floor((max.percent * total) / 100));
}

/** "1", "3", "25%" → MaxUnavailable; a string saying what is wrong otherwise. */
export function parseMaxUnavailable(text: string): MaxUnavailable | string {
  const percent = /^([1-9][0-9]?|100)%$/.exec(text);
  if (percent) return { percent: Number(percent[1]) };
  if (/^[1-9][0-9]{0,5}$/.test(text)) return { count: Number(text) };
  return `expected a number of nodes (1, 2, ...) or a percentage (1% to 100%), not ${JSON.stringify(text)}`;
}

export function planRollout(
  rollout: RolloutView,
  nodes: readonly NodeView[],
  now: number,
  times: PlannerTimes = DEFAULT_TIMES,
): RolloutStep {
  const step: RolloutStep = { nodes: [], order: [] };
  if (rollout.state !== "running" && rollout.state !== "paused") return step;
  const state = new Map(nodes.map((n) => [n.node, n.state]));
  const set = (node: string, to: UpgradeState, reason?: string) => {
    state.set(node, to);
    step.nodes.push(reason === undefined ? { node, state: to } : { node, state: to, reason });
  };

  for (const n of nodes) {
    if (FINISHED.has(n.state) || FINAL_FAILURE.has(n.state)) continue;
    if (n.deleted) {
      set(n.node, "skipped", NODE_DELETED);
      continue;
    }
    const order = compareVersions(rollout.version, n.version);
    if (n.online && n.version === rollout.version && (n.state === "pending" || n.state === "offline"))
      set(n.node, "done", `already at ${rollout.version}`);
    else if (
      !rollout.allowDowngrade &&
      order !== undefined &&
      order < 0 &&
      (n.state === "pending" || n.state === "offline")
    )
      set(
        n.node,
        "failed",
        `downgrade refused: it runs ${n.version}, newer than ${rollout.version} (--allow-downgrade)`,
      );
    else if (IN_PROGRESS.has(n.state) && now - n.updatedAt > rollout.timeoutSeconds * 1000 + times.stallMs)
      set(n.node, "failed", `no progress reported for ${Math.round((now - n.updatedAt) / 1000)} s`);
  }

  const failed = nodes.find((n) => FINAL_FAILURE.has(state.get(n.node) ?? n.state));
  if (failed) {
    const reason = step.nodes.find((c) => c.node === failed.node)?.reason ?? failed.reason;
    step.rollout = {
      state: "failed",
      reason: `node ${failed.node} ${state.get(failed.node)}${reason ? `: ${reason}` : ""}`,
    };
    return step;
  }

  // Orders not answered yet go again to nodes that are online (a lost message, a node back).
  for (const n of nodes) {
    if (
      state.get(n.node) === "ordered" &&
      n.online &&
      (n.orderedAt === null || now - n.orderedAt >= times.resendMs)
    )
      step.order.push(n.node);
  }

  const inProgress = nodes.filter((n) => IN_PROGRESS.has(state.get(n.node) ?? n.state));
  if (inProgress.length > 0) return step;
  if (rollout.batchOpen) {
    step.rollout = { batchOpen: false, batchEndedAt: now };
    rollout = { ...rollout, batchOpen: false, batchEndedAt: now };
  }
  const finished = (n: NodeView) => FINISHED.has(state.get(n.node) ?? n.state);
  if (nodes.every(finished)) {
    const skipped = nodes.filter((n) => state.get(n.node) === "skipped").length;
    const reason =
      skipped > 0
        ? `every remaining node runs ${rollout.version} (${skipped} deleted during the rollout)`
        : `every node runs ${rollout.version}`;
    step.rollout = { ...step.rollout, state: "done", reason };
    return step;
  }
  if (rollout.state === "paused") return step;
  if (rollout.batchEndedAt !== null && now - rollout.batchEndedAt < rollout.pauseMs) return step;

  const size = batchSize(rollout.maxUnavailable, nodes.length);
  const others = nodes.filter((n) => !n.isCloud);
  const othersDone = others.every(finished);
  const batch: string[] = [];
  for (const n of [...others, ...nodes.filter((n) => n.isCloud)]) {
    if (batch.length >= size) break;
    const s = state.get(n.node);
    if (s !== "pending" && s !== "offline") continue;
    if (n.isCloud && !othersDone) continue;
    if (!n.online) {
      if (s === "pending") set(n.node, "offline", "offline when its turn came; upgraded when it is back");
      continue;
    }
    set(n.node, "ordered");
    batch.push(n.node);
  }
  if (batch.length > 0) {
    step.order.push(...batch);
    step.rollout = { ...step.rollout, batchOpen: true };
  }
  return step;
}
