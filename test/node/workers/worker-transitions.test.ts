// The controller's decisions as tables: what boot does with the stored instance, what a new spec
// asks of a worker, and where an exit or a failed start leads (phase, message, retry).
import { describe, expect, test } from "bun:test";
import { desiredWorker } from "../../../src/node/workers/desired.ts";
import { WorkerSpecError } from "../../../src/node/workers/drivers/driver.ts";
import {
  afterExit,
  afterStartError,
  bootAction,
  type ChangeFacts,
  changeAction,
  SPEC_RETRY_MS,
} from "../../../src/node/workers/worker-transitions.ts";
import { template } from "./lifecycle-helpers.ts";

const half = () => 0.5;

describe("bootAction", () => {
  test.each([
    [{ stored: true, found: true, sameSpec: true, restartRequested: false }, "adopt"],
    [{ stored: true, found: true, sameSpec: false, restartRequested: false }, "replace"],
    [{ stored: true, found: true, sameSpec: true, restartRequested: true }, "replace"],
    [{ stored: true, found: false, sameSpec: true, restartRequested: false }, "lost"],
    [{ stored: true, found: false, sameSpec: false, restartRequested: false }, "lost"],
    [{ stored: true, found: false, sameSpec: true, restartRequested: true }, "start"],
    [{ stored: false, found: false, sameSpec: true, restartRequested: false }, "start"],
  ] as const)("%o → %s", (facts, action) => {
    expect(bootAction(facts)).toBe(action);
  });
});

describe("changeAction", () => {
  const replace = desiredWorker("web", 0, 1, template(), {});
  const surge = desiredWorker("web", 0, 1, template({ update: "surge" }), {});
  const running: ChangeFacts = {
    running: true,
    retryPending: false,
    specChanged: false,
    runningSpecHash: replace.specHash,
    runningFilesHash: replace.filesHash,
    startedRestartRequest: 0,
  };
  test("nothing runs: start, unless a restart of the same spec is already scheduled", () => {
    const idle = { ...running, running: false };
    expect(changeAction(replace, idle)).toBe("start");
    expect(changeAction(replace, { ...idle, retryPending: true })).toBe("wait");
    expect(changeAction(replace, { ...idle, retryPending: true, specChanged: true })).toBe("start");
  });
  test("a running instance of another spec is replaced or surged, as the template's update says", () => {
    const other = { ...running, runningSpecHash: "older" };
    expect(changeAction(replace, other)).toBe("replace");
    expect(changeAction(surge, other)).toBe("surge");
  });
  test("the same spec: refresh when live mounts' content changed, else keep", () => {
    expect(changeAction(replace, running)).toBe("keep");
    expect(changeAction(replace, { ...running, runningFilesHash: "older" })).toBe("refresh");
  });
  test("another restart count: restart (also with surge, also over a pending backoff); a spec change wins", () => {
    const requested = desiredWorker("web", 0, 1, template(), {}, 2);
    const surged = desiredWorker("web", 0, 1, template({ update: "surge" }), {}, 2);
    expect(requested.specHash).toBe(replace.specHash);
    expect(changeAction(requested, running)).toBe("restart");
    expect(changeAction(surged, { ...running, runningSpecHash: surged.specHash })).toBe("restart");
    expect(changeAction(requested, { ...running, running: false, retryPending: true })).toBe("restart");
    expect(changeAction(requested, { ...running, runningSpecHash: "older" })).toBe("replace");
    // The count the instance was started for: nothing to do.
    expect(changeAction(requested, { ...running, startedRestartRequest: 2 })).toBe("keep");
    expect(
      changeAction(requested, { ...running, running: false, retryPending: true, startedRestartRequest: 2 }),
    ).toBe("wait");
  });
});

describe("afterExit", () => {
  const backoff = { restart: { backoff: { initial: "1s", max: "4s" } } };
  /** A quick exit with this code after `quickExits` others, random fixed at one half. */
  const quickExit = (exitCode: number, quickExits: number) =>
    afterExit(
      template(backoff),
      quickExits,
      { exit: { exitCode, signal: null }, ranMs: 10, failed: false },
      half,
    );
  test("policy always: backoff with the delay in the message, counted as a restart", () => {
    expect(quickExit(3, 0)).toEqual({
      restart: true,
      delayMs: 500,
      phase: "backoff",
      message: "exit code 3; restarting in 500ms",
      quickExits: 1,
      counted: true,
    });
  });
  test("the third quick exit in a row is a crash loop", () => {
    expect(quickExit(1, 2)).toMatchObject({
      delayMs: 2000,
      message: "crash loop: exited 3 times in a row soon after starting; last: exit code 1; restarting in 2s",
    });
  });
  test("a jittered delay reads rounded: restarting in 16s, not 15s544ms", () => {
    const long = { restart: { backoff: { initial: "20s", max: "5m" } } };
    const at = (r: number) =>
      afterExit(
        template(long),
        0,
        { exit: { exitCode: 1, signal: null }, ranMs: 10, failed: false },
        () => r,
      );
    const out = at(0.5544);
    expect(out).toMatchObject({ message: expect.stringMatching(/; restarting in \d+s$/) });
    expect(out.restart && out.delayMs % 1000).not.toBe(0);
  });
  test("a liveness failure is named as such", () => {
    const exit = { exitCode: null, signal: null, reason: "liveness: GET /health answered 500" };
    const out = afterExit(template(backoff), 0, { exit, ranMs: 120_000, failed: true }, half);
    expect(out.message).toBe("liveness: GET /health answered 500; restarting in 500ms");
  });
  test("no restart per policy: stopped after success, failed after a failure", () => {
    const onFailure = template({ restart: { policy: "on-failure" } });
    expect(afterExit(onFailure, 0, { exit: { exitCode: 0, signal: null }, ranMs: 5, failed: false })).toEqual(
      {
        restart: false,
        phase: "stopped",
        message: "exit code 0; restart policy on-failure",
        quickExits: 1,
      },
    );
    const never = template({ restart: { policy: "never" } });
    expect(
      afterExit(never, 0, { exit: { exitCode: null, signal: "SIGKILL" }, ranMs: 5, failed: false }),
    ).toMatchObject({ restart: false, phase: "failed", message: "killed by SIGKILL; restart policy never" });
  });
});

describe("afterStartError", () => {
  test("a WorkerSpecError: failed with its message, retried slowly, not counted", () => {
    const out = afterStartError(template(), 4, new WorkerSpecError("image not found: x:1"), half);
    expect(out).toEqual({
      restart: true,
      delayMs: SPEC_RETRY_MS,
      phase: "failed",
      message: "image not found: x:1; retrying in 30s",
      quickExits: 4,
      counted: false,
    });
  });
  test("another error: backoff like a quick exit, not counted", () => {
    const out = afterStartError(template(), 0, new Error("port registry busy"), half);
    expect(out).toEqual({
      restart: true,
      delayMs: 500,
      phase: "backoff",
      message: "cannot start: port registry busy; retrying in 500ms",
      quickExits: 1,
      counted: false,
    });
  });
});
