// One timer per Disconnected node whose services set a lostAfter, due when it would become Lost,
// so the phase sweep makes it Lost on time instead of up to a sweep interval late. The decision
// itself stays in heartbeat.ts (decideNodePhase); a timer only asks the sweep to look again.
import type { PhaseChange } from "../../protocol/heartbeat.ts";

export interface LostTimers {
  /** Call with every phase change: starts the timer on Disconnected, drops it otherwise. */
  onPhaseChange(change: PhaseChange): void;
  close(): void;
}

export function createLostTimers(options: {
  lostAfterMs: ((node: string) => number | null) | undefined;
  now: () => number;
  /** Re-decides one node's phase (the cloud link's sweep of that node). */
  wake: (node: string) => void;
}): LostTimers {
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const drop = (node: string) => {
    const pending = timers.get(node);
    if (pending) clearTimeout(pending);
    timers.delete(node);
  };
  return {
    onPhaseChange(change) {
      drop(change.node);
      if (change.to !== "Disconnected") return;
      const ms = options.lostAfterMs?.(change.node) ?? null;
      if (ms === null) return;
      const due = Date.parse(change.since) + ms - options.now();
      // +5 ms: wake just after the deadline, not a hair before it. setTimeout caps at 2^31-1 ms.
      const delay = Math.min(Math.max(due, 0) + 5, 2 ** 31 - 1);
      const timer = setTimeout(() => {
        timers.delete(change.node);
        options.wake(change.node);
      }, delay);
      timer.unref?.();
      timers.set(change.node, timer);
    },
    close() {
      for (const pending of timers.values()) clearTimeout(pending);
      timers.clear();
    },
  };
}
