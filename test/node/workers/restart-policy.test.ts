import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  CRASH_LOOP_EXITS,
  decideRestart,
  describeExit,
  STABLE_RUN_MS,
} from "../../../src/node/workers/restart-policy.ts";

const backoff = { initialMs: 1000, maxMs: 30_000 };
const ok = { exitCode: 0, signal: null };
const bad = { exitCode: 1, signal: null };

describe("decideRestart", () => {
  test("policy always restarts after any exit; on-failure only after a failure; never never", () => {
    expect(
      decideRestart("always", backoff, { quickExits: 0 }, { exit: ok, ranMs: 5, failed: false }).restart,
    ).toBe(true);
    expect(
      decideRestart("on-failure", backoff, { quickExits: 0 }, { exit: ok, ranMs: 5, failed: false }),
    ).toMatchObject({
      restart: false,
      phase: "stopped",
    });
    expect(
      decideRestart("on-failure", backoff, { quickExits: 0 }, { exit: bad, ranMs: 5, failed: false }).restart,
    ).toBe(true);
    expect(
      decideRestart("never", backoff, { quickExits: 0 }, { exit: bad, ranMs: 5, failed: false }),
    ).toMatchObject({
      restart: false,
      phase: "failed",
    });
    // A liveness failure is a failure even when the process exited 0 on SIGTERM.
    expect(
      decideRestart("on-failure", backoff, { quickExits: 0 }, { exit: ok, ranMs: 5, failed: true }).restart,
    ).toBe(true);
  });

  test("quick exits grow the backoff ceiling and make a crash loop; a stable run resets it", () => {
    let state = { quickExits: 0 };
    const ceilings: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d = decideRestart(
        "always",
        backoff,
        state,
        { exit: bad, ranMs: 100, failed: false },
        () => 0.999999,
      );
      if (!d.restart) throw new Error("expected a restart");
      ceilings.push(d.delayMs);
      expect(d.crashLoop).toBe(d.quickExits >= CRASH_LOOP_EXITS);
      state = { quickExits: d.quickExits };
    }
    expect(ceilings.slice(0, 6)).toEqual([999, 1999, 3999, 7999, 15999, 29999]);
    expect(ceilings[7]).toBe(29999);
    const stable = decideRestart(
      "always",
      backoff,
      state,
      { exit: bad, ranMs: STABLE_RUN_MS, failed: false },
      () => 0.999999,
    );
    expect(stable).toMatchObject({ restart: true, quickExits: 0, crashLoop: false });
  });

  test("delays stay within [min(initial,100ms), max] for any randomness", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (quick, r) => {
        const d = decideRestart(
          "always",
          backoff,
          { quickExits: quick },
          { exit: bad, ranMs: 1, failed: false },
          () => r,
        );
        return d.restart && d.delayMs >= 100 && d.delayMs <= backoff.maxMs;
      }),
    );
  });

  test("describeExit names code, signal, reason or the unknown", () => {
    expect(describeExit({ exitCode: 3, signal: null })).toBe("exit code 3");
    expect(describeExit({ exitCode: null, signal: "SIGKILL", reason: "OOMKilled" })).toBe(
      "killed by SIGKILL (OOMKilled)",
    );
    expect(describeExit({ exitCode: null, signal: null })).toContain("exit status unknown");
  });
});
