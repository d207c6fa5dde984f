// Heartbeat interval and node phase, as pure decisions (docs/PROTOCOL.md, "Heartbeat" and
// "Presence and node phase"). The interval grows with the fleet so that the cloud receives at
// most about 50 heartbeats a second; a node is Ready while online with fresh heartbeats,
// Disconnected when its presence goes offline or 3 intervals pass in silence, and Lost after
// lostAfter in Disconnected.

export type NodePhase = "Ready" | "Disconnected" | "Lost";

/** Missed intervals before a silent node counts as Disconnected. */
export const MISSED_HEARTBEATS = 3;

export function heartbeatSeconds(nodeCount: number): number {
  return Math.max(5, Math.ceil(Math.max(0, nodeCount) / 50));
}

export interface PhaseInput {
  /** The presence flag (retained presence message / last will). */
  online: boolean;
  /** When the node was last heard from (ms since epoch), or null if never. */
  lastSeenMs: number | null;
  nowMs: number;
  heartbeatSeconds: number;
  /** Time in Disconnected before Lost, or null for never (the default). */
  lostAfterMs: number | null;
  /** The phase recorded now, and since when (ms). */
  phase: NodePhase;
  sinceMs: number;
}

export interface PhaseDecision {
  phase: NodePhase;
  sinceMs: number;
  changed: boolean;
}

export function decideNodePhase(input: PhaseInput): PhaseDecision {
  const { nowMs, phase, sinceMs } = input;
  const fresh =
    input.lastSeenMs !== null &&
    nowMs - input.lastSeenMs <= MISSED_HEARTBEATS * input.heartbeatSeconds * 1000;
  const keep = { phase, sinceMs, changed: false };
  if (input.online && fresh)
    return phase === "Ready" ? keep : { phase: "Ready", sinceMs: nowMs, changed: true };
  // Not reachable: Disconnected, then Lost once it stayed Disconnected for lostAfter.
  if (phase === "Ready") return { phase: "Disconnected", sinceMs: nowMs, changed: true };
  if (phase === "Lost") return keep;
  if (input.lostAfterMs !== null && nowMs - sinceMs >= input.lostAfterMs) {
    return { phase: "Lost", sinceMs: sinceMs + input.lostAfterMs, changed: true };
  }
  return keep;
}

export function isNodePhase(value: string): value is NodePhase {
  return value === "Ready" || value === "Disconnected" || value === "Lost";
}

export interface PlanState {
  epoch: string | null;
  revision: number;
}

/** Whether a node reporting `reported` lacks the cloud's desired plan (epoch + revision). */
export function isBehind(desired: { epoch: string; revision: number }, reported: PlanState): boolean {
  return reported.epoch !== desired.epoch || reported.revision !== desired.revision;
}

/**
 * On a heartbeat from a node that is behind: send the plan again if it was never sent or was
 * sent at least one heartbeat ago (an ack may simply still be on its way).
 */
export function planResendDue(sentAtMs: number | null, nowMs: number, heartbeatSeconds: number): boolean {
  return sentAtMs === null || nowMs - sentAtMs >= heartbeatSeconds * 1000;
}

/** A node's phase changed (what the cloud's phase sweep reports). */
export interface PhaseChange {
  node: string;
  from: string;
  to: NodePhase;
  since: string;
}
