// Worker log files: the rotation plan (pure), and copy-truncate rotation on real files with a
// real O_APPEND writer that keeps writing through it.
import { describe, expect, test } from "bun:test";
import { existsSync, fstatSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import {
  closeLogFile,
  LogRotator,
  logFileName,
  openLogFileForChild,
  planRotation,
  rotate,
  rotatedNames,
  workerLogDir,
} from "../../../../src/node/workers/logs/log-files.ts";
import { makeTempDir } from "../../../harness/cluster.ts";

describe("planRotation", () => {
  test("with every rotated file present the oldest is deleted and the others shift up", () => {
    const plan = planRotation(new Set(rotatedNames(3)), 3);
    expect(plan.remove).toEqual(["current.log.3"]);
    expect(plan.renames).toEqual([
      ["current.log.2", "current.log.3"],
      ["current.log.1", "current.log.2"],
    ]);
    expect(plan.copyTo).toBe("current.log.1");
  });

  test("only existing files move; a gap is not filled", () => {
    expect(planRotation(new Set(), 3)).toEqual({ remove: [], renames: [], copyTo: "current.log.1" });
    expect(planRotation(new Set(["current.log.1"]), 3).renames).toEqual([["current.log.1", "current.log.2"]]);
    const gap = planRotation(new Set(["current.log.1", "current.log.3"]), 3);
    expect(gap.remove).toEqual(["current.log.3"]);
    expect(gap.renames).toEqual([["current.log.1", "current.log.2"]]);
  });

  test("files beyond keep are not touched; keep 0 only truncates; a bad keep is refused", () => {
    const plan = planRotation(new Set(["current.log.1", "current.log.5"]), 2);
    expect(plan.remove).toEqual([]);
    expect(plan.renames).toEqual([["current.log.1", "current.log.2"]]);
    expect(planRotation(new Set(["current.log.1"]), 0)).toEqual({
      remove: [],
      renames: [],
      copyTo: undefined,
    });
    expect(() => planRotation(new Set(), -1)).toThrow(/keep/);
    expect(() => planRotation(new Set(), 1.5)).toThrow(/keep/);
  });

  test("names and the worker directory layout", () => {
    expect(logFileName(0)).toBe("current.log");
    expect(logFileName(2)).toBe("current.log.2");
    expect(workerLogDir("/var/lib/levee", "echo", 1)).toBe("/var/lib/levee/workers/echo/1/logs");
  });
});

describe("rotation on disk", () => {
  test("openLogFileForChild creates the directory and appends", () => {
    const dir = join(makeTempDir(), "workers", "svc", "0", "logs");
    const path = join(dir, "current.log");
    const a = openLogFileForChild(path);
    writeSync(a, "one\n");
    closeLogFile(a);
    const b = openLogFileForChild(path);
    writeSync(b, "two\n");
    expect((fstatSync(b).mode & 0o777).toString(8)).toBe("640");
    closeLogFile(b);
    closeLogFile(b); // twice is harmless
    expect(readFileSync(path, "utf8")).toBe("one\ntwo\n");
  });

  test("copy-truncate keeps N files and an O_APPEND writer continues at the start of the new file", async () => {
    const dir = makeTempDir();
    const fd = openLogFileForChild(join(dir, "current.log"));
    try {
      for (let round = 1; round <= 5; round++) {
        writeSync(fd, `round ${round}\n`);
        await rotate(dir, 3);
      }
      writeSync(fd, "after\n");
    } finally {
      closeLogFile(fd);
    }
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    expect(read("current.log")).toBe("after\n");
    expect(read("current.log.1")).toBe("round 5\n");
    expect(read("current.log.2")).toBe("round 4\n");
    expect(read("current.log.3")).toBe("round 3\n");
    expect(existsSync(join(dir, "current.log.4"))).toBe(false);
    expect(existsSync(join(dir, "current.log.1.tmp"))).toBe(false);
  });

  test("the rotator rotates only above maxBytes, and a missing log is no error", async () => {
    const dir = makeTempDir();
    const rotator = new LogRotator({ maxBytes: 100, keep: 2 });
    rotator.watch(dir);
    rotator.watch(join(dir, "missing"));
    expect(await rotator.rotateIfNeeded(dir)).toBe(false);
    writeFileSync(join(dir, "current.log"), "x".repeat(100));
    await rotator.checkAll();
    expect(statSync(join(dir, "current.log")).size).toBe(100);
    writeFileSync(join(dir, "current.log"), "y".repeat(101));
    await rotator.checkAll();
    expect(statSync(join(dir, "current.log")).size).toBe(0);
    expect(readFileSync(join(dir, "current.log.1"), "utf8")).toBe("y".repeat(101));
    rotator.unwatch(dir);
    expect(rotator.watching()).toEqual([join(dir, "missing")]);
    await rotator.close();
  });

  test("rotations between writes lose nothing and keep lines whole and in order", async () => {
    const dir = makeTempDir();
    const fd = openLogFileForChild(join(dir, "current.log"));
    const rotator = new LogRotator({ maxBytes: 64 * 1024, keep: 3 });
    const line = (n: number) => `line ${String(n).padStart(8, "0")} ${"x".repeat(40)}\n`;
    let n = 0;
    try {
      // 2,000 lines, a rotation check after every 100: several rotations while writing.
      for (let batch = 0; batch < 20; batch++) {
        for (let i = 0; i < 100; i++) writeSync(fd, line(n++));
        await rotator.checkAll();
      }
    } finally {
      closeLogFile(fd);
    }
    const all = ["current.log.3", "current.log.2", "current.log.1", "current.log"]
      .filter((name) => existsSync(join(dir, name)))
      .map((name) => readFileSync(join(dir, name), "utf8"))
      .join("");
    const lines = all.split("\n").filter(Boolean);
    // Every kept line is whole and in order (nothing torn, nothing duplicated)...
    for (const l of lines) expect(l).toMatch(/^line \d{8} x{40}$/);
    const numbers = lines.map((l) => Number(l.slice(5, 13)));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe((numbers[i - 1] ?? 0) + 1);
    // ... the newest line is there, and what is kept stays within keep+1 files of ~maxBytes.
    expect(numbers.at(-1)).toBe(n - 1);
    expect(all.length).toBeLessThanOrEqual(4 * (64 * 1024 + 100 * line(0).length));
  });

  test("a child process writing through the fd during rotations: lines stay in order, cut only at a rotation", async () => {
    const dir = makeTempDir();
    const fd = openLogFileForChild(join(dir, "current.log"));
    const script = `for (let i = 0; i < 20000; i++) process.stdout.write("line " + String(i).padStart(8, "0") + " ${"x".repeat(40)}\\n");`;
    const child = Bun.spawn([process.execPath, "-e", script], {
      stdout: fd,
      stderr: "inherit",
      stdin: "ignore",
    });
    closeLogFile(fd);
    const rotator = new LogRotator({ maxBytes: 32 * 1024, keep: 3 });
    rotator.watch(dir);
    let rotations = 0;
    while (child.exitCode === null) {
      if (await rotator.rotateIfNeeded(dir)) rotations++;
      await Bun.sleep(1);
    }
    expect(await child.exited).toBe(0);
    // The writer writes blocks, not lines (as any block-buffered program does), so a rotation may
    // cut a line: a file may start with the end of a line and end without a newline. Every other
    // line is whole, and the lines run in order across the files (what the window lost is a gap).
    const numbers: number[] = [];
    for (const name of ["current.log.3", "current.log.2", "current.log.1", "current.log"]) {
      if (!existsSync(join(dir, name))) continue;
      const parts = readFileSync(join(dir, name), "utf8").split("\n");
      parts.pop(); // after the last newline: nothing, or a line cut off by the rotation
      parts.forEach((line, i) => {
        if (i === 0 && !line.startsWith("line ")) return; // the end of a line cut by a rotation
        expect(line).toMatch(/^line \d{8} x{40}$/);
        numbers.push(Number(line.slice(5, 13)));
      });
    }
    for (let i = 1; i < numbers.length; i++) expect(numbers[i] ?? 0).toBeGreaterThan(numbers[i - 1] ?? 0);
    expect(numbers.length).toBeGreaterThan(1000);
    expect(rotations).toBeGreaterThan(0);
  });
});
