// The reader's --since, --timestamps and --previous for exec workers: since keeps the files last
// written at or after it (whole files), timestamps prefix each history line with its file's
// last-write time and each followed line with the time it was read, previous reads the run before
// the last restart (previous.log and its rotations, archived when an instance starts).
import { describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { archiveInstanceLog, rotate } from "../../../../src/node/workers/logs/log-files.ts";
import {
  firstFileSince,
  type ReadWorkerLogOptions,
  readWorkerLog,
} from "../../../../src/node/workers/logs/log-reader.ts";
import { makeTempDir } from "../../../harness/cluster.ts";
import { collect } from "./collect.ts";

/** Follows `dir` with `options`; returns the first chunk after `line` is appended, and when. */
async function firstFollowed(dir: string, options: ReadWorkerLogOptions, line: string) {
  const abort = new AbortController();
  const iterator = readWorkerLog(dir, { ...options, follow: true, pollMs: 10, signal: abort.signal })[
    Symbol.asyncIterator
  ]();
  const next = iterator.next();
  await Bun.sleep(50); // the reader has taken its snapshot of the files
  const appended = Date.now();
  appendFileSync(join(dir, "current.log"), line);
  const text = Buffer.from((await next).value ?? []).toString();
  abort.abort();
  return { text, appended };
}

const T1 = new Date("2026-05-01T10:00:00.000Z");
const T2 = new Date("2026-05-01T11:00:00.000Z");
const T3 = new Date("2026-05-01T12:00:00.000Z");

/** current.log.2 written at T1, .1 at T2, current.log at T3. */
function dated(): string {
  const dir = makeTempDir();
  const files: [string, string, Date][] = [
    ["current.log.2", "a1\na2\n", T1],
    ["current.log.1", "b1\n", T2],
    ["current.log", "c1\nc2\n", T3],
  ];
  for (const [name, text, time] of files) {
    writeFileSync(join(dir, name), text);
    utimesSync(join(dir, name), time, time);
  }
  return dir;
}

describe("exec worker logs: since, timestamps, previous", () => {
  test("firstFileSince: the oldest file written at or after the time", () => {
    expect(firstFileSince([T1, T2, T3], undefined)).toBe(0);
    expect(firstFileSince([T1, T2, T3], T2)).toBe(1);
    expect(firstFileSince([T1, T2, T3], new Date(T3.getTime() + 1))).toBe(3);
    expect(firstFileSince([undefined, T3], T1)).toBe(1);
  });

  test("since keeps whole files last written at or after it; tail counts within them", async () => {
    const dir = dated();
    expect(await collect(readWorkerLog(dir, { since: new Date("2026-05-01T10:30:00Z") }))).toBe(
      "b1\nc1\nc2\n",
    );
    expect(await collect(readWorkerLog(dir, { since: T3 }))).toBe("c1\nc2\n");
    expect(await collect(readWorkerLog(dir, { since: new Date("2026-05-02T00:00:00Z") }))).toBe("");
    expect(await collect(readWorkerLog(dir, { since: T2, tail: 10 }))).toBe("b1\nc1\nc2\n");
  });

  test("since later than every file: a follower gets only what is written next", async () => {
    const { text } = await firstFollowed(dated(), { since: new Date("2026-05-02T00:00:00Z") }, "c3\n");
    expect(text).toBe("c3\n");
  });

  test("timestamps: history lines carry their file's last-write time", async () => {
    const dir = dated();
    expect(await collect(readWorkerLog(dir, { timestamps: true, since: T2 }))).toBe(
      `${T2.toISOString()} b1\n${T3.toISOString()} c1\n${T3.toISOString()} c2\n`,
    );
  });

  test("timestamps: followed lines carry the time they were read", async () => {
    const { text: line, appended: before } = await firstFollowed(
      dated(),
      { tail: 0, timestamps: true },
      "late\n",
    );
    const [time, rest] = line.split(" ");
    expect(rest).toBe("late\n");
    expect(Date.parse(time ?? "")).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(time ?? "")).toBeLessThanOrEqual(Date.now());
  });

  test("a rotated copy keeps the time of its last line", async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, "current.log"), "x\n");
    utimesSync(join(dir, "current.log"), T1, T1);
    await rotate(dir, 3);
    expect(statSync(join(dir, "current.log.1")).mtime.toISOString()).toBe(T1.toISOString());
  });

  test("a new instance archives the run before as previous.log; --previous reads it, never follows", async () => {
    const dir = dated();
    writeFileSync(join(dir, "previous.log"), "older run\n");
    writeFileSync(join(dir, "previous.log.4"), "older rotation\n");
    archiveInstanceLog(dir);
    expect(existsSync(join(dir, "current.log"))).toBe(false);
    expect(existsSync(join(dir, "previous.log.4"))).toBe(false);
    expect(readFileSync(join(dir, "previous.log"), "utf8")).toBe("c1\nc2\n");
    writeFileSync(join(dir, "current.log"), "new run\n");
    expect(await collect(readWorkerLog(dir, {}))).toBe("new run\n");
    const abort = new AbortController();
    const previous = await collect(
      readWorkerLog(dir, { previous: true, follow: true, signal: abort.signal }),
    );
    expect(previous).toBe("a1\na2\nb1\nc1\nc2\n");
    expect(await collect(readWorkerLog(dir, { previous: true, tail: 1 }))).toBe("c2\n");
    // Nothing to archive (a first start) is fine, and keeps the previous run.
    archiveInstanceLog(makeTempDir());
  });
});
