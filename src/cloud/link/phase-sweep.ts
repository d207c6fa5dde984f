// The cloud's node phase sweep: reads every node's liveness (or one node's, right after its
// hello or presence), decides its phase with heartbeat.ts, and writes the changes that are real.
// Right after the cloud (re)connects to the broker it is blind rather than the nodes gone, so
// then only presence (explicit) can take a node out of Ready, not silence. createPhaseSweeper
// adds a timer per Disconnected node for the moment its lostAfter is over (lost-timers.ts).

import { decideNodePhase, isNodePhase, type PhaseChange } from "../../protocol/heartbeat.ts";

export type { PhaseChange };

import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { createLostTimers } from "./lost-timers.ts";
import { readLiveness, writePhase } from "./sync-store.ts";

export interface SweepInput {
  store: Store;
  log: Logger;
  nowMs: number;
  /** One node, or every node. */
  only?: string;
  /** Heard-from times not yet written to the nodes table. */
  pendingSeen: ReadonlyMap<string, string>;
  /** The heartbeat interval that applies to a node. */
  heartbeatFor: (node: string) => number;
  lostAfterMs?: ((node: string) => number | null) | undefined;
  /** Silence proves nothing now (the cloud itself was disconnected). */
  blind: boolean;
  onPhaseChange?: ((change: PhaseChange) => void) | undefined;
}

export function sweepPhases(input: SweepInput): PhaseChange[] {
  const { store, log, nowMs } = input;
  const changes: PhaseChange[] = [];
  for (const row of readLiveness(store, input.only)) {
    const seen = [row.lastSeen, input.pendingSeen.get(row.name)]
      .filter((s): s is string => !!s)
      .map(Date.parse);
    const phase = isNodePhase(row.phase) ? row.phase : "Disconnected";
    const decision = decideNodePhase({
      online: row.online,
      lastSeenMs: seen.length > 0 ? Math.max(...seen) : null,
      nowMs,
      heartbeatSeconds: input.heartbeatFor(row.name),
      // Only a Disconnected node can become Lost: ask (it reads the node's plan) only then.
      lostAfterMs: phase === "Disconnected" ? (input.lostAfterMs?.(row.name) ?? null) : null,
      phase,
      sinceMs: Date.parse(row.phaseSince) || nowMs,
    });
    if (!decision.changed || (input.blind && row.online && decision.phase !== "Ready")) continue;
    const since = new Date(decision.sinceMs).toISOString();
    if (!writePhase(store, row.name, row.phase, decision.phase, since)) continue;
    const change = { node: row.name, from: row.phase, to: decision.phase, since };
    changes.push(change);
    log.info("node phase changed", { node: row.name, from: row.phase, to: decision.phase });
    try {
      input.onPhaseChange?.(change);
    } catch (err) {
      log.error("phase change handler failed", { node: row.name, error: err });
    }
  }
  return changes;
}

export interface PhaseSweeper {
  /** Decides every node's phase, or one node's. */
  sweep(only?: string): void;
  close(): void;
}

/** sweepPhases with the clock and blindness read at each sweep, and Lost made on time. */
export function createPhaseSweeper(
  base: Omit<SweepInput, "nowMs" | "only" | "blind"> & {
    now: () => number;
    blind: (nowMs: number) => boolean;
  },
): PhaseSweeper {
  const timers = createLostTimers({
    lostAfterMs: base.lostAfterMs,
    now: base.now,
    wake: (node) => {
      try {
        sweep(node);
      } catch (err) {
        base.log.error("phase sweep failed", { node, error: err });
      }
    },
  });
  const onPhaseChange = (change: PhaseChange) => {
    timers.onPhaseChange(change);
    base.onPhaseChange?.(change);
  };
  const sweep = (only?: string) => {
    const nowMs = base.now();
    sweepPhases({
      ...base,
      nowMs,
      ...(only !== undefined ? { only } : {}),
      blind: base.blind(nowMs),
      onPhaseChange,
    });
  };
  return { sweep, close: () => timers.close() };
}
