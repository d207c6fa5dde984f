// The worker controller's decisions, pure: what the agent does at boot with the instance it
// finds, what a new spec asks of a worker, and where a worker goes after its instance ended or
// could not start (restart after a backoff, or a final phase), with the status message that says
// why. The controller (worker-controller.ts) carries them out; keeping them apart lets each one be
// checked with a table, without a driver or a clock.
import { durationMs, formatDuration, roundedDuration } from "../../manifest/duration.ts";
import type { Template } from "../../manifest/template.ts";
import { describeError } from "../../runtime/errors.ts";
import type { DesiredWorker } from "./desired.ts";
import { type ExitInfo, WorkerSpecError } from "./drivers/driver.ts";
import { decideRestart, describeExit } from "./restart-policy.ts";

/** Spec errors are retried too (an image loaded later, a directory created), but slowly. */
export const SPEC_RETRY_MS = 30_000;
/** Surge: how long the new instance may take to become ready before the old one is stopped anyway. */
export const SURGE_READY_MS = 120_000;

/**
 * At agent start, with the stored record of a worker that is still desired:
 *   adopt     its instance still runs with the desired spec: watch it again, no restart;
 *   replace   it runs an older spec (the plan changed while the agent was down), or a restart was
 *             requested meanwhile: stop, start;
 *   lost      it ended while the agent was down: as after an exit (restart per policy);
 *   start     nothing was running, or it ended and a restart was requested: start now.
 */
export type BootAction = "adopt" | "replace" | "lost" | "start";

export function bootAction(facts: {
  stored: boolean;
  found: boolean;
  sameSpec: boolean;
  /** The plan asks for another restart count than the stored instance was started for. */
  restartRequested: boolean;
}): BootAction {
  if (facts.found) return facts.sameSpec && !facts.restartRequested ? "adopt" : "replace";
  return facts.stored && !facts.restartRequested ? "lost" : "start";
}

/**
 * A new desired spec for a worker:
 *   start     nothing runs (a new worker, a changed spec, or one that stopped for good): start now;
 *   wait      nothing runs and a restart is already scheduled for the same spec: keep its backoff;
 *   replace   the running spec differs: stop the instance, then start the new one;
 *   surge     the same with update: surge: start the new one, stop the old once the new is ready;
 *   restart   the same spec, but a restart was requested (another count than the instance, or
 *             the last one, was started for): stop what runs, cancel a pending backoff, start now
 *             with the backoff reset (whatever `update` says: a restart is no update);
 *   refresh   only live mounts' content changed: rewrite the files, signal the instance;
 *   keep      nothing to do to the instance (the service's generation may still move).
 */
export type ChangeAction = "start" | "wait" | "replace" | "surge" | "restart" | "refresh" | "keep";

export interface ChangeFacts {
  running: boolean;
  /** A restart is scheduled (backoff, or a spec error's slow retry). */
  retryPending: boolean;
  /** The spec differs from the previous desired one. */
  specChanged: boolean;
  /** The spec of the running instance. */
  runningSpecHash: string;
  /** The live mounts' content the running instance has. */
  runningFilesHash: string;
  /** The restart count the running (or the last) instance was started for. */
  startedRestartRequest: number;
}

export function changeAction(desired: DesiredWorker, facts: ChangeFacts): ChangeAction {
  const restartRequested = desired.restartRequest !== facts.startedRestartRequest;
  if (!facts.running) {
    if (restartRequested) return "restart";
    return facts.specChanged || !facts.retryPending ? "start" : "wait";
  }
  if (facts.runningSpecHash !== desired.specHash)
    return desired.template.update === "surge" ? "surge" : "replace";
  if (restartRequested) return "restart";
  return facts.runningFilesHash !== desired.filesHash ? "refresh" : "keep";
}

/** Where a worker goes next: a restart after delayMs (phase backoff), or a phase it stays in. */
export type Outcome =
  | {
      restart: true;
      delayMs: number;
      phase: "backoff" | "failed";
      message: string;
      quickExits: number;
      /** An instance ended and is restarted: the worker's restart count grows. */
      counted: boolean;
    }
  | { restart: false; phase: "stopped" | "failed"; message: string; quickExits: number };

export interface ExitFacts {
  exit: ExitInfo;
  /** How long the instance ran, ms. */
  ranMs: number;
  /** Stopped by the agent because it was unhealthy (a liveness failure). */
  failed: boolean;
}

/** After an instance ended: the restart policy, the backoff, and a crash loop said as such. */
export function afterExit(
  template: Template,
  quickExits: number,
  facts: ExitFacts,
  random: () => number = Math.random,
): Outcome {
  const policy = template.restart.policy;
  const decision = decideRestart(policy, backoffOf(template), { quickExits }, facts, random);
  const what = facts.exit.reason?.startsWith("liveness") ? facts.exit.reason : describeExit(facts.exit);
  if (!decision.restart) {
    return {
      restart: false,
      phase: decision.phase,
      message: `${what}; restart policy ${policy}`,
      quickExits: decision.quickExits,
    };
  }
  const next = `restarting in ${roundedDuration(decision.delayMs)}`;
  const message = decision.crashLoop
    ? `crash loop: exited ${decision.quickExits} times in a row soon after starting; last: ${what}; ${next}`
    : `${what}; ${next}`;
  return {
    restart: true,
    delayMs: decision.delayMs,
    phase: "backoff",
    message,
    quickExits: decision.quickExits,
    counted: true,
  };
}

/**
 * After a start failed: a WorkerSpecError (the spec cannot run as written) is phase failed with
 * its message and a slow retry; any other error backs off like a quick exit.
 */
export function afterStartError(
  template: Template,
  quickExits: number,
  err: unknown,
  random: () => number = Math.random,
): Outcome {
  const message = describeError(err);
  if (err instanceof WorkerSpecError) {
    const retry = `retrying in ${formatDuration(SPEC_RETRY_MS)}`;
    return {
      restart: true,
      delayMs: SPEC_RETRY_MS,
      phase: "failed",
      message: `${message}; ${retry}`,
      quickExits,
      counted: false,
    };
  }
  const decision = decideRestart(
    "always",
    backoffOf(template),
    { quickExits },
    { exit: { exitCode: null, signal: null }, ranMs: 0, failed: true },
    random,
  );
  const delayMs = decision.restart ? decision.delayMs : SPEC_RETRY_MS;
  return {
    restart: true,
    delayMs,
    phase: "backoff",
    message: `cannot start: ${message}; retrying in ${roundedDuration(delayMs)}`,
    quickExits: decision.quickExits,
    counted: false,
  };
}

function backoffOf(template: Template): { initialMs: number; maxMs: number } {
  const { backoff } = template.restart;
  return { initialMs: durationMs(backoff.initial), maxMs: durationMs(backoff.max) };
}
