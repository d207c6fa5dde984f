// The exec driver against real processes: own process group and session, env byte-exact, logs
// appended to the file, adoption by pid + start time + marker, stop with SIGTERM then SIGKILL,
// orphans, and spec errors that name the cause.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { templateSchema } from "../../../../src/manifest/template.ts";
import type { LaunchSpec } from "../../../../src/node/workers/drivers/driver.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import { ExecDriver, instancePrefix } from "../../../../src/node/workers/drivers/exec-driver.ts";
import { findExecutable } from "../../../../src/node/workers/drivers/executable.ts";
import {
  processEnvVar,
  processGroupMembers,
  processStartTime,
} from "../../../../src/node/workers/drivers/proc.ts";

const root = mkdtempSync(join(tmpdir(), "levee-exec-"));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function spec(
  command: string[],
  env: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): LaunchSpec {
  const workerDir = join(root, `w${n++}`);
  mkdirSync(workerDir, { recursive: true });
  return {
    key: { node: "edge1", service: "svc", index: n, instance: `${instancePrefix(root)}${n}-${Date.now()}` },
    template: templateSchema.parse({ command, ...extra }),
    env: { ...env, LEVEE_WORKER_ID: "" },
    workerDir,
    logFile: join(workerDir, "logs", "current.log"),
    mounts: [],
    agentId: root,
  };
}

function withMarker(s: LaunchSpec): LaunchSpec {
  return { ...s, env: { ...s.env, LEVEE_WORKER_ID: s.key.instance } };
}

describe("ExecDriver", () => {
  const driver = new ExecDriver();

  test("runs in its own session and group, env byte-exact, output in the log file; the run before kept apart", async () => {
    const value = '{"a": "b\\"c"}\nline2\t\'q\'';
    const s = withMarker(spec(["sh", "-c", 'printf "%s" "$TRICKY"; echo; echo err >&2'], { TRICKY: value }));
    const instance = await driver.start(s);
    started.push(instance.ref.pid as number);
    const exit = await instance.exited;
    expect(exit).toEqual({ exitCode: 0, signal: null });
    expect(readFileSync(s.logFile, "utf8")).toBe(`${value}\nerr\n`);
    const again = await driver.start(
      withMarker({ ...s, template: templateSchema.parse({ command: ["echo", "two"] }) }),
    );
    await again.exited;
    // A new instance starts an empty log; the one before is previous.log (levee ctl logs --previous).
    expect(readFileSync(s.logFile, "utf8")).toBe("two\n");
    expect(readFileSync(join(dirname(s.logFile), "previous.log"), "utf8")).toBe(`${value}\nerr\n`);
  });

  test("adopt finds the same process; a wrong marker or start time is not adopted", async () => {
    const s = withMarker(spec(["sleep", "30"]));
    const instance = await driver.start(s);
    const pid = instance.ref.pid as number;
    started.push(pid);
    // Until the child has exec'd, /proc shows the forked agent's environment, without the marker.
    while (processEnvVar(pid, "LEVEE_WORKER_ID") !== s.key.instance) await Bun.sleep(10);
    expect(processGroupMembers(pid)).toContain(pid);
    const fresh = new ExecDriver();
    const adopted = await fresh.adopt(instance.ref);
    expect(adopted?.ref.pid).toBe(pid);
    expect(
      await fresh.adopt({ ...instance.ref, key: { ...instance.ref.key, instance: "other" } }),
    ).toBeUndefined();
    expect(await fresh.adopt({ ...instance.ref, pidStart: "1" })).toBeUndefined();
    expect(await fresh.orphans(root, new Set())).toEqual([expect.objectContaining({ pid })]);
    expect(await fresh.orphans(root, new Set([s.key.instance]))).toEqual([]);
    expect(await fresh.orphans("/some/other/agent", new Set())).toEqual([]);
    const exit = await adopted?.stop(2000);
    expect(exit).toEqual({ exitCode: null, signal: null });
    expect(processStartTime(pid)).toBeUndefined();
  });

  test("stop: SIGTERM, then SIGKILL to the whole group after the timeout", async () => {
    const s = withMarker(spec(["sh", "-c", "trap '' TERM; sleep 30 & sleep 30"]));
    const instance = await driver.start(s);
    started.push(instance.ref.pid as number);
    await Bun.sleep(200);
    const pid = instance.ref.pid as number;
    expect(processGroupMembers(pid).length).toBeGreaterThanOrEqual(2);
    const t0 = performance.now();
    const exit = await instance.stop(500);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(450);
    expect(exit.signal).toBe("SIGKILL");
    await Bun.sleep(50);
    expect(processGroupMembers(pid)).toEqual([]);
  });

  test("signals reach the process; exit code and signal are reported", async () => {
    const instance = await driver.start(withMarker(spec(["sleep", "30"])));
    started.push(instance.ref.pid as number);
    await instance.signal("SIGUSR1");
    expect(await instance.exited).toEqual({ exitCode: null, signal: "SIGUSR1" });
    const failing = await driver.start(withMarker(spec(["sh", "-c", "exit 7"])));
    expect(await failing.exited).toEqual({ exitCode: 7, signal: null });
  });

  test("spec errors name the cause", async () => {
    await expect(driver.start(spec(["no-such-program-levee"]))).rejects.toThrow(
      /command not found: no-such-program-levee/,
    );
    await expect(driver.start(spec(["/etc/hostname"]))).rejects.toThrow(WorkerSpecError);
    await expect(driver.start(spec(["true"], {}, { workingDir: "/nonexistent-levee" }))).rejects.toThrow(
      /workingDir \/nonexistent-levee does not exist/,
    );
    await expect(driver.start(spec(["true"], {}, { user: "no-such-user-levee" }))).rejects.toThrow(
      /user "no-such-user-levee" does not exist/,
    );
    expect(findExecutable("sh", "/nonexistent:/bin")).toBe("/bin/sh");
  });
});
