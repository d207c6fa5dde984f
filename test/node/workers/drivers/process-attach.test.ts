import { describe, expect, test } from "bun:test";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import {
  attachPlan,
  parseEnviron,
  parseIds,
  readWorkerContext,
  shellQuote,
  type WorkerContext,
} from "../../../../src/node/workers/drivers/process-attach.ts";

const context = (over: Partial<WorkerContext> = {}): WorkerContext => ({
  env: { PATH: "/bin", SERVICE_NAME: "shell" },
  cwd: "/data/workers/shell/0",
  uid: 0,
  gid: 0,
  ownMountNamespace: false,
  ...over,
});
const root = { uid: 0, gid: 0 };
const tools = { nsenter: "/usr/bin/nsenter", script: "/usr/bin/script" };

describe("exec in an exec worker's context", () => {
  test("the environment without the instance marker; the effective ids", () => {
    expect(parseEnviron("A=1\0LEVEE_WORKER_ID=abc-1\0B=x=y\0\0junk\0")).toEqual({ A: "1", B: "x=y" });
    const status = "Name:\tsleep\nUid:\t1000\t1001\t1001\t1001\nGid:\t50\t51\t51\t51\n";
    expect(parseIds(status)).toEqual({ uid: 1001, gid: 51 });
    expect(parseIds("Name:\tx\n")).toBeUndefined();
  });

  test("the context of a live process: this one", () => {
    const own = readWorkerContext(process.pid);
    expect(own?.cwd).toBe(process.cwd());
    expect(own?.uid).toBe(process.getuid?.() ?? -1);
    expect(own?.ownMountNamespace).toBe(false);
    expect(readWorkerContext(2 ** 22 + 7)).toBeUndefined();
  });

  test("the program is found in the worker's PATH; same user: no switch", () => {
    expect(
      attachPlan(10, context(), { command: ["sh", "-c", "echo"], stdin: false, tty: false }, root, tools),
    ).toEqual({
      argv: ["/bin/sh", "-c", "echo"],
    });
    expect(() =>
      attachPlan(10, context(), { command: ["no-such-program"], stdin: false, tty: false }, root, tools),
    ).toThrow(WorkerSpecError);
  });

  test("another user: switched at spawn, or by nsenter inside the worker's mount namespace", () => {
    const other = context({ uid: 1000, gid: 1000 });
    expect(attachPlan(10, other, { command: ["sh"], stdin: false, tty: false }, root, tools)).toEqual({
      argv: ["/bin/sh"],
      uid: 1000,
      gid: 1000,
    });
    const spaced = context({ uid: 1000, gid: 1000, ownMountNamespace: true });
    expect(attachPlan(42, spaced, { command: ["sh"], stdin: false, tty: false }, root, tools).argv).toEqual([
      "/usr/bin/nsenter",
      "--target=42",
      "--mount",
      "--wd=/data/workers/shell/0",
      "--setuid=1000",
      "--setgid=1000",
      "--",
      "/bin/sh",
    ]);
    expect(() =>
      attachPlan(42, spaced, { command: ["sh"], stdin: false, tty: false }, root, { script: tools.script }),
    ).toThrow("nsenter is missing");
  });

  test("a TTY: under script, the size set first, every word quoted", () => {
    const plan = attachPlan(
      10,
      context(),
      { command: ["sh", "-c", "echo 'hi' $X"], stdin: false, tty: true, rows: 30, cols: 100 },
      root,
      tools,
    );
    expect(plan.argv).toEqual([
      "/usr/bin/script",
      "-q",
      "-e",
      "-c",
      `stty rows 30 cols 100 2>/dev/null; exec /bin/sh -c 'echo '\\''hi'\\'' $X'`,
      "/dev/null",
    ]);
    expect(shellQuote("plain/path-1.0")).toBe("plain/path-1.0");
    expect(shellQuote("")).toBe("''");
    expect(() => attachPlan(10, context(), { command: ["sh"], stdin: false, tty: true }, root, {})).toThrow(
      "script",
    );
  });
});
