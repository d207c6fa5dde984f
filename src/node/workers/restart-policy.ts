// When a worker that ended starts again (pure). Restart policy always | on-failure | never;
// exponential backoff with full jitter between initial and max; an instance that ran at least
// STABLE_RUN_MS resets the backoff. Several quick exits in a row is a crash loop: the worker is
// in phase backoff with a message saying so, and keeps being retried at the backoff's pace.
import { backoffDelay } from "../../runtime/backoff.ts";
import type { ExitInfo } from "./drivers/driver.ts";

export type RestartPolicy = "always" | "on-failure" | "never";

/** An instance that ran this long was healthy enough: the next exit starts the backoff afresh. */
export const STABLE_RUN_MS = 60_000;
/** Quick exits in a row that make a crash loop. */
export const CRASH_LOOP_EXITS = 3;

export interface RestartState {
  /** Exits in a row of instances that ran less than STABLE_RUN_MS. */
  quickExits: number;
}

export type RestartDecision =
  | { restart: true; delayMs: number; crashLoop: boolean; quickExits: number }
  | { restart: false; phase: "stopped" | "failed"; quickExits: number };

export interface ExitFacts {
  exit: ExitInfo;
  /** How long the instance ran, ms. */
  ranMs: number;
  /** The agent stopped it on purpose (a liveness failure counts as a failure, not this). */
  failed: boolean;
}

export function decideRestart(
  policy: RestartPolicy,
  backoff: { initialMs: number; maxMs: number },
  state: RestartState,
  facts: ExitFacts,
  random: () => number = Math.random,
): RestartDecision {
  const quickExits = facts.ranMs >= STABLE_RUN_MS ? 0 : state.quickExits + 1;
  const failed = facts.failed || !succeeded(facts.exit);
  const again = policy === "always" || (policy === "on-failure" && failed);
  if (!again) return { restart: false, phase: failed ? "failed" : "stopped", quickExits };
  // The first restart after a stable run waits at most `initial`; each quick exit doubles it.
  const attempt = Math.max(0, quickExits - 1);
  const delayMs = Math.max(
    Math.min(backoff.initialMs, 100),
    backoffDelay(attempt, { baseMs: backoff.initialMs, capMs: backoff.maxMs, random }),
  );
  return { restart: true, delayMs, crashLoop: quickExits >= CRASH_LOOP_EXITS, quickExits };
}

/** Exit code 0 without a signal. An unknown exit (ended while the agent was away) is a failure. */
export function succeeded(exit: ExitInfo): boolean {
  return exit.exitCode === 0 && exit.signal === null;
}

/** "exit code 3", "killed by SIGKILL (OOMKilled)", "ended while the agent was not running". */
export function describeExit(exit: ExitInfo): string {
  const base =
    exit.signal !== null
      ? `killed by ${exit.signal}`
      : exit.exitCode !== null
        ? `exit code ${exit.exitCode}`
        : "ended while the agent was not watching (exit status unknown)";
  return exit.reason ? `${base} (${exit.reason})` : base;
}
