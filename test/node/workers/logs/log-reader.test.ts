// The worker log reader: the last N lines across rotated files (found by reading backwards in
// bounded chunks), following appended output across a copy-truncate rotation, and bounded I/O
// and memory on a 200 MB file.
import { describe, expect, test } from "bun:test";
import {
  appendFileSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { rotate } from "../../../../src/node/workers/logs/log-files.ts";
import {
  findTailStart,
  type ReadStats,
  readWorkerLog,
} from "../../../../src/node/workers/logs/log-reader.ts";
import { makeTempDir, waitUntil } from "../../../harness/cluster.ts";
import { collect } from "./collect.ts";

/** A log dir with current.log.2 (oldest), .1 and current.log. */
function threeFiles(): string {
  const dir = makeTempDir();
  writeFileSync(join(dir, "current.log.2"), "a1\na2\na3\n");
  writeFileSync(join(dir, "current.log.1"), "b1\nb2\n");
  writeFileSync(join(dir, "current.log"), "c1\nc2\n");
  return dir;
}

/** Reads what an open iterator yields until `want` has appeared (or fails after a timeout). */
async function readUntil(iterator: AsyncIterator<Uint8Array>, sofar: { text: string }, want: string) {
  const deadline = Date.now() + 5000;
  while (!sofar.text.includes(want)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${JSON.stringify(want)}; got ${sofar.text}`);
    const next = await iterator.next();
    if (next.done) throw new Error(`stream ended before ${JSON.stringify(want)}; got ${sofar.text}`);
    sofar.text += Buffer.from(next.value).toString("utf8");
  }
}

describe("findTailStart", () => {
  const files = ["ab\ncd\n", "ef\n", "gh"].map((t) => Buffer.from(t));
  const readAt = async (file: number, position: number, length: number) =>
    (files[file] ?? Buffer.alloc(0)).subarray(position, position + length);
  const sizes = files.map((f) => f.length);

  test("counts lines backwards across files, with chunks smaller than a line", async () => {
    // "gh" has no final newline: it is the last line.
    expect(await findTailStart(sizes, 1, readAt, 1)).toEqual({ file: 1, offset: 3 });
    expect(await findTailStart(sizes, 2, readAt, 1)).toEqual({ file: 0, offset: 6 });
    expect(await findTailStart(sizes, 3, readAt, 2)).toEqual({ file: 0, offset: 3 });
    expect(await findTailStart(sizes, 4, readAt, 3)).toEqual({ file: 0, offset: 0 });
    expect(await findTailStart(sizes, 99, readAt)).toEqual({ file: 0, offset: 0 });
    expect(await findTailStart(sizes, 0, readAt)).toEqual({ file: 2, offset: 2 });
    expect(await findTailStart([], 5, readAt)).toEqual({ file: 0, offset: 0 });
  });

  test("a final newline does not count as an empty last line, even in an older file", async () => {
    const f = [Buffer.from("x\ny\n"), Buffer.alloc(0)];
    const read = async (file: number, p: number, l: number) =>
      (f[file] ?? Buffer.alloc(0)).subarray(p, p + l);
    expect(await findTailStart([4, 0], 1, read)).toEqual({ file: 0, offset: 2 });
  });
});

describe("readWorkerLog", () => {
  test("everything kept, oldest first; the last N lines across rotated files", async () => {
    const dir = threeFiles();
    expect(await collect(readWorkerLog(dir))).toBe("a1\na2\na3\nb1\nb2\nc1\nc2\n");
    expect(await collect(readWorkerLog(dir, { tail: 3 }))).toBe("b2\nc1\nc2\n");
    expect(await collect(readWorkerLog(dir, { tail: 5, chunkSize: 2 }))).toBe("a3\nb1\nb2\nc1\nc2\n");
    expect(await collect(readWorkerLog(dir, { tail: 100 }))).toBe("a1\na2\na3\nb1\nb2\nc1\nc2\n");
    expect(await collect(readWorkerLog(dir, { tail: 0 }))).toBe("");
  });

  test("a missing directory or file is an empty log", async () => {
    expect(await collect(readWorkerLog(join(makeTempDir(), "nothing"), { tail: 10 }))).toBe("");
  });

  test("follow: appended output arrives, across a copy-truncate rotation, until the signal aborts", async () => {
    const dir = threeFiles();
    const abort = new AbortController();
    const iterator = readWorkerLog(dir, { tail: 1, follow: true, signal: abort.signal, pollMs: 10 });
    const got = { text: "" };
    await readUntil(iterator, got, "c2\n");
    expect(got.text).toBe("c2\n");

    appendFileSync(join(dir, "current.log"), "c3\n");
    await readUntil(iterator, got, "c3\n");

    // Lines written just before the rotation, then the rotation (current.log → .1, truncated),
    // then lines in the new current.log: all arrive once, in order.
    const fd = openSync(join(dir, "current.log"), "a");
    writeSync(fd, "c4\nc5\n");
    await rotate(dir, 3);
    writeSync(fd, "d1\n");
    closeSync(fd);
    await readUntil(iterator, got, "d1\n");
    expect(got.text).toBe("c2\nc3\nc4\nc5\nd1\n");

    // A rotation after which the file grew past the old position is recognised too.
    appendFileSync(join(dir, "current.log"), "d2\n");
    await readUntil(iterator, got, "d2\n");
    await rotate(dir, 3);
    appendFileSync(join(dir, "current.log"), "e1 is a longer line than before\n");
    await readUntil(iterator, got, "e1");
    expect(got.text).toBe("c2\nc3\nc4\nc5\nd1\nd2\ne1 is a longer line than before\n");

    abort.abort();
    const end = await iterator.next();
    expect(end.done).toBe(true);
  });

  test("follow starts from a log that does not exist yet", async () => {
    const dir = join(makeTempDir(), "logs");
    const abort = new AbortController();
    const iterator = readWorkerLog(dir, { follow: true, signal: abort.signal, pollMs: 10 });
    const got = { text: "" };
    const reading = readUntil(iterator, got, "hello\n");
    await Bun.sleep(30);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "current.log"), "hello\n");
    await reading;
    abort.abort();
    expect((await iterator.next()).done).toBe(true);
  });

  test("a 200 MB log: tail 10 reads one chunk, and following reads only what is new", async () => {
    const dir = makeTempDir();
    const path = join(dir, "current.log");
    const fd = openSync(path, "w");
    ftruncateSync(fd, 200 * 1024 * 1024); // sparse: 200 MB of NUL bytes ...
    closeSync(fd);
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("");
    appendFileSync(path, lines); // ... then 1,000 lines
    const stats: ReadStats = { reads: 0, bytesRead: 0 };
    const abort = new AbortController();
    const iterator = readWorkerLog(dir, { tail: 10, follow: true, signal: abort.signal, stats, pollMs: 10 });
    const got = { text: "" };
    await readUntil(iterator, got, "line 999\n");
    expect(got.text).toBe(Array.from({ length: 10 }, (_, i) => `line ${990 + i}\n`).join(""));
    // One 64 KiB chunk backwards finds the 10 lines; then the 10 lines are read forwards.
    expect(stats.bytesRead).toBeLessThanOrEqual(64 * 1024 + 200);
    // While the consumer waits for more, the reader polls; each poll reads at most a 64-byte
    // fingerprint, never the file again.
    const before = { ...stats };
    const pending = iterator.next();
    await waitUntil("a few polls", () => stats.reads >= before.reads + 5, 2000);
    expect(stats.bytesRead - before.bytesRead).toBeLessThanOrEqual((stats.reads - before.reads) * 64);
    appendFileSync(path, "new line\n");
    const next = await pending;
    expect(Buffer.from(next.value ?? []).toString()).toBe("new line\n");
    abort.abort();
    await iterator.next();
  });

  test("memory stays bounded: a slow consumer gets one chunk at a time", async () => {
    const dir = makeTempDir();
    const fd = openSync(join(dir, "current.log"), "w");
    ftruncateSync(fd, 50 * 1024 * 1024);
    closeSync(fd);
    const stats: ReadStats = { reads: 0, bytesRead: 0 };
    const iterator = readWorkerLog(dir, { stats })[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    // Two chunks asked for, two chunks read: nothing is read ahead of the consumer.
    expect(stats.bytesRead).toBe(2 * 64 * 1024);
    await iterator.return?.();
  });
});
