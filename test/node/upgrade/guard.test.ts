import { describe, expect, test } from "bun:test";
import { mkdtempSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GuardEffects, runGuard } from "../../../src/node/upgrade/guard.ts";
import type { UnitState } from "../../../src/node/upgrade/systemd-unit.ts";
import { type PendingUpgrade, UpgradeFiles } from "../../../src/node/upgrade/upgrade-files.ts";

const base: PendingUpgrade = {
  rollout: "u-1",
  from: "1.0.0",
  to: "1.1.0",
  sha256: "a".repeat(64),
  execPath: "/opt/levee",
  previous: "/opt/levee.previous",
  args: ["edge"],
  cwd: "/",
  systemd: false,
  oldPid: 10,
  workers: [],
  deadline: 5000,
  timeoutSeconds: 5,
};

function fakes(
  p: PendingUpgrade,
  over: Partial<GuardEffects> & { newExits?: boolean; commitAt?: number } = {},
) {
  const files = new UpgradeFiles(mkdtempSync(join(tmpdir(), "levee-guard-")));
  files.writePending(p);
  const calls: string[] = [];
  let t = 0;
  let pid = 100;
  const fx: GuardEffects = {
    files,
    alive: (x) => x !== 10,
    startAgent: () => {
      calls.push("start");
      const mine = pid++;
      return { pid: mine, exited: () => over.newExits === true && mine === 100 };
    },
    stop: async (x) => {
      calls.push(`stop ${x}`);
    },
    runningAgent: () => 77,
    restore: () => calls.push("restore"),
    startUnit: () => {
      calls.push("start unit");
      return "asked systemd to start levee-edge.service";
    },
    unitState: () => undefined,
    sleep: async (ms) => {
      t += ms;
      if (over.commitAt !== undefined && t >= over.commitAt) files.claim("committed.json");
    },
    now: () => t,
    log: () => {},
    ...over,
  };
  return { fx, calls, files };
}

describe("runGuard", () => {
  test("without systemd: starts the new agent; a commit ends the guard, nothing restored", async () => {
    const f = fakes(base, { commitAt: 1000 });
    expect(await runGuard(f.fx)).toBe("committed");
    expect(f.calls).toEqual(["start"]);
  });

  test("the new agent exits at start: claimed, stopped, old binary back and started", async () => {
    const f = fakes(base, { newExits: true });
    expect(await runGuard(f.fx)).toContain("exited before passing its health gate");
    expect(f.calls).toEqual(["start", "stop 100", "restore", "start"]);
    expect(f.files.readRollback()?.reason).toContain("exited");
  });

  test("under systemd: waits for the deadline, stops the running agent, restores, starts the unit", async () => {
    const f = fakes({ ...base, systemd: true });
    expect(await runGuard(f.fx)).toContain("within 5 s");
    // The unit restarts the agent by itself unless it exited 2 (RestartPreventExitStatus=2).
    expect(f.calls).toEqual(["stop 77", "restore", "start unit"]);
  });

  /** Under systemd with a 120 s deadline; the unit's state as a function of the guard's clock. */
  function underSystemd(unit: (t: number) => UnitState) {
    let t = 0;
    const f = fakes(
      { ...base, systemd: true, deadline: 120_000 },
      {
        sleep: async (ms) => {
          t += ms;
        },
        now: () => t,
        unitState: () => unit(t),
      },
    );
    return { ...f, elapsed: () => t };
  }

  test("under systemd, a unit that keeps restarting: rolled back early, not at the deadline", async () => {
    // NRestarts 7 when the guard begins; the old agent's exit is one more, then the new one's.
    const f = underSystemd((t) => ({ activeState: "activating", restarts: 7 + Math.floor(t / 2000) }));
    expect(await runGuard(f.fx)).toContain("kept exiting: systemd restarted the unit 3 times");
    expect(f.elapsed()).toBeLessThan(10_000);
    expect(f.calls).toEqual(["stop 77", "restore", "start unit"]);
  });

  test("under systemd, a unit that failed (exit 2 is not restarted): rolled back at once", async () => {
    const f = underSystemd((t) => ({ activeState: t >= 1000 ? "failed" : "activating", restarts: 1 }));
    expect(await runGuard(f.fx)).toContain("systemd did not restart it (the unit failed)");
    expect(f.elapsed()).toBeLessThan(2_000);
  });

  test("under systemd, a unit restarted once (the old agent's exit) and then up: committed", async () => {
    const f = fakes(
      { ...base, systemd: true, deadline: 120_000 },
      { commitAt: 3000, unitState: () => ({ activeState: "active", restarts: 1 }) },
    );
    expect(await runGuard(f.fx)).toBe("committed");
  });

  test("nothing pending, or committed while it claims: no rollback", async () => {
    const f = fakes(base, { commitAt: 0 });
    unlinkSync(f.files.path("pending.json"));
    expect(await runGuard(f.fx)).toBe("no pending upgrade");
  });
});
