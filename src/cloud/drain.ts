// Cordon and drain as decisions, without I/O. A cordoned or draining node gets no new nodeSelector
// workers: the planner gives it at most its "selector budget" per service. A cordoned node keeps
// the selector workers its current plan runs (cordon stops new ones, it moves nothing). A draining
// node keeps them only until the hand-over is done: every other matching node that is Ready and
// schedulable reports all the selector workers it is meant to run of that service as ready. So the
// service is never without a ready worker because of a drain; with no other node to take them, the
// workers are held where they are. Workers pinned by name (`node: X`) are never moved.

export type Scheduling = "enabled" | "cordoned" | "draining";

export function isScheduling(value: string): value is Scheduling {
  return value === "enabled" || value === "cordoned" || value === "draining";
}

/** One other node a draining node's selector workers of a service go to. */
export interface HandOverTarget {
  node: string;
  phase: string;
  /** The service's selector workers the plan puts there. */
  expected: number;
  /** Of the service's workers there, how many its node reports ready (at the current generation). */
  ready: number;
}

export type HandOver =
  | { state: "moved"; to: string[] }
  | { state: "waiting"; to: string[]; waitingFor: string[] }
  | { state: "held"; reason: string };

/**
 * Whether a draining node may drop its selector workers of a service: "moved" when the other
 * matching Ready nodes run theirs ready; "waiting" while some are not ready yet; "held" when no
 * other Ready schedulable node matches (they stay until one does, or the node is uncordoned).
 */
export function handOver(targets: readonly HandOverTarget[]): HandOver {
  const usable = targets.filter((t) => t.phase === "Ready" && t.expected > 0);
  if (usable.length === 0)
    return { state: "held", reason: "no other Ready node without a cordon matches its nodeSelector" };
  const to = usable.map((t) => t.node);
  const waitingFor = usable.filter((t) => t.ready < t.expected).map((t) => t.node);
  return waitingFor.length === 0 ? { state: "moved", to } : { state: "waiting", to, waitingFor };
}

/**
 * The selector workers a cordoned or draining node may run of a service: those its current plan
 * runs (`placedBefore`: all its workers of the service there, `pinned`: how many of them the spec
 * pins to the node now), none on a draining node once the hand-over is done.
 */
export function selectorBudget(
  scheduling: Scheduling,
  placedBefore: number,
  pinned: number,
  handedOver: boolean,
): number {
  if (scheduling === "enabled") return Number.POSITIVE_INFINITY;
  if (scheduling === "draining" && handedOver) return 0;
  return Math.max(0, placedBefore - pinned);
}

/** What `drain` answers for one service of the node. */
export interface DrainItem {
  service: string;
  workers: number;
  /** `pinned`: placed by name, they stay; the others say where the selector workers go. */
  state: "pinned" | HandOver["state"];
  to?: string[];
  waitingFor?: string[];
  reason?: string;
}

/** The event a scheduling change records on the node: its reason and message. */
export function schedulingEvent(
  scheduling: Scheduling,
  items: readonly DrainItem[],
): { reason: string; message: string } {
  if (scheduling === "enabled")
    return { reason: "Uncordoned", message: "new nodeSelector workers are placed here again" };
  if (scheduling === "cordoned")
    return { reason: "Cordoned", message: "no new nodeSelector workers are placed here; running ones stay" };
  const parts = items.map(
    (i) => `${i.service}: ${i.workers} ${i.state}${i.to ? ` to ${i.to.join(",")}` : ""}`,
  );
  return { reason: "Drained", message: parts.length === 0 ? "no workers to move" : parts.join("; ") };
}
