import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gateVerdict, startHealthGate } from "../../../src/node/upgrade/health-gate.ts";
import {
  type PendingUpgrade,
  UpgradeFiles,
  type UpgradeResult,
} from "../../../src/node/upgrade/upgrade-files.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const pending: PendingUpgrade = {
  rollout: "u-1",
  from: "1.0.0",
  to: "1.1.0",
  sha256: "a".repeat(64),
  execPath: "/usr/local/bin/levee",
  previous: "/usr/local/bin/levee.previous",
  args: ["edge"],
  cwd: "/",
  systemd: false,
  oldPid: 10,
  workers: [{ service: "who", index: 0, pid: 42 }],
  deadline: 1000,
  timeoutSeconds: 60,
};
const log = createLogger({ level: "error", format: "text" });

describe("gateVerdict", () => {
  test("commits when ready with every worker adopted at the same pid", () => {
    const workers = [{ service: "who", index: 0, pid: 42 }];
    expect(gateVerdict(pending, { ready: true, workers, now: 0 })).toEqual({ kind: "commit" });
  });

  test("waits while not ready or a worker is missing or changed; expired after the deadline", () => {
    expect(gateVerdict(pending, { ready: "cloud: connecting", workers: [], now: 0 })).toEqual({
      kind: "wait",
      why: "not ready: cloud: connecting",
    });
    expect(gateVerdict(pending, { ready: true, workers: [], now: 0 }).kind).toBe("wait");
    const restarted = [{ service: "who", index: 0, pid: 43 }];
    expect(gateVerdict(pending, { ready: true, workers: restarted, now: 0 })).toEqual({
      kind: "wait",
      why: "worker who[0] runs as pid 43, not 42 as before",
    });
    expect(gateVerdict(pending, { ready: true, workers: restarted, now: 2000 }).kind).toBe("expired");
  });
});

/** The gate of the old agent (1.0.0) starting; what it reports at once. */
function startOldAgent(files: UpgradeFiles): UpgradeResult[] {
  const reports: UpgradeResult[] = [];
  startHealthGate({
    files,
    version: "1.0.0",
    view: () => ({ ready: true, workers: [] }),
    report: (r) => reports.push(r),
    log,
  });
  return reports;
}

describe("startHealthGate", () => {
  const setup = () => new UpgradeFiles(mkdtempSync(join(tmpdir(), "levee-gate-")));

  test("the new agent commits the pending upgrade and reports done", async () => {
    const files = setup();
    files.writePending({ ...pending, deadline: Date.now() + 60_000 });
    const reports: UpgradeResult[] = [];
    const gate = startHealthGate({
      files,
      version: "1.1.0",
      view: () => ({ ready: true, workers: [{ service: "who", index: 0, pid: 42 }] }),
      report: (r) => reports.push(r),
      log,
      intervalMs: 5,
    });
    await Bun.sleep(50);
    gate.stop();
    expect(reports.map((r) => r.state)).toEqual(["done"]);
    expect(files.readPending()).toBeUndefined();
    expect(files.readResult()?.state).toBe("done");
  });

  test("the guard's claim wins: the old agent back reports rolled-back with the guard's reason", () => {
    const files = setup();
    files.writeRollback({ ...pending, reason: "the new agent exited" });
    const reports = startOldAgent(files);
    expect(reports).toEqual([
      { rollout: "u-1", state: "rolled-back", from: "1.0.0", to: "1.1.0", reason: "the new agent exited" },
    ]);
    expect(files.readRollback()).toBeUndefined();
  });

  test("the old binary starting while the upgrade is pending: rolled back, not committed", () => {
    const files = setup();
    files.writePending(pending);
    const reports = startOldAgent(files);
    expect(reports.map((r) => r.state)).toEqual(["rolled-back"]);
    expect(files.claim("committed.json")).toBe(false);
  });
});
