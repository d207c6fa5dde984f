// Reads one worker's log files (log-files.ts: current.log and its rotations current.log.1 … .N,
// .N the oldest) as one stream of bytes, for `levee ctl logs`: the last N lines across the files,
// then, with `follow`, what is appended until the signal aborts.
//
// Memory is bounded whatever the file sizes: the last lines are found by reading backwards in
// fixed chunks and counting newlines, and everything is read and yielded chunk by chunk, only when
// the consumer asks for the next one (an async iterator: the HTTP upload's backpressure reaches the
// disk reads).
//
// Following survives copy-truncate rotation: the reader remembers the last bytes before its
// position (a fingerprint). When current.log shrinks, or those bytes are no longer where they were,
// the file was rotated: the rest of what it was reading is at the same offset in the rotated file
// that carries the fingerprint (normally .1), and reading goes on there, then in current.log from 0.
//
// The files carry no time per line (the worker writes them directly), so for exec workers:
// `since` keeps the files last written at or after it (whole files: a rotated file's time is its
// last line's, log-files.ts), and `timestamps` puts before each line the last-write time of the
// file it is in (an upper bound for lines read from history) or, while following, the time the
// line was read (within pollMs of its writing). `previous` reads previous.log and its rotations
// (the instance before the current one) instead, and never follows.
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { LogReadOptions } from "../drivers/driver.ts";
import { LineStamper, timePrefix } from "./line-stamper.ts";
import { CURRENT_LOG, logFileName, PREVIOUS_LOG, rotationOf } from "./log-files.ts";

export const READ_CHUNK = 64 * 1024;
export const DEFAULT_POLL_MS = 250;
/** Bytes before the follow position that identify it across a rotation. */
const FINGERPRINT_BYTES = 64;

export interface ReadWorkerLogOptions extends LogReadOptions {
  /** Bytes per read (default 64 KiB). */
  chunkSize?: number;
  /** How often a follower looks for new bytes (default 250 ms). */
  pollMs?: number;
  /** Counts the reads (tests check that memory and I/O stay bounded). */
  stats?: ReadStats;
}

export interface ReadStats {
  reads: number;
  bytesRead: number;
}

/** A position in the list of files, oldest first. */
export interface FilePosition {
  file: number;
  offset: number;
}

/** Reads up to `length` bytes of file `file` at `position` (fewer at end of file). */
export type ReadAt = (file: number, position: number, length: number) => Promise<Uint8Array>;

const NEWLINE = 0x0a;

/**
 * Where the last `lines` lines start in the concatenation of files (oldest first) of the given
 * sizes, reading backwards `chunkSize` bytes at a time. A final newline does not start an empty
 * last line. Fewer lines than asked: the start of the first file.
 */
export async function findTailStart(
  sizes: readonly number[],
  lines: number,
  readAt: ReadAt,
  chunkSize = READ_CHUNK,
): Promise<FilePosition> {
  const last = sizes.length - 1;
  if (last < 0) return { file: 0, offset: 0 };
  if (lines <= 0) return { file: last, offset: sizes[last] ?? 0 };
  let count = 0;
  let first = true;
  for (let file = last; file >= 0; file--) {
    let end = sizes[file] ?? 0;
    while (end > 0) {
      const start = Math.max(0, end - chunkSize);
      const bytes = await readAt(file, start, end - start);
      for (let i = bytes.length - 1; i >= 0; i--) {
        const isNewline = bytes[i] === NEWLINE;
        if (first) {
          first = false;
          if (isNewline) continue;
        }
        if (isNewline && ++count === lines) return { file, offset: start + i + 1 };
      }
      end = start;
    }
  }
  return { file: 0, offset: 0 };
}

/** The log files of a worker, oldest first: current.log.<highest> … current.log.1, current.log. */
export async function logFiles(logDir: string, base = CURRENT_LOG): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch {
    return [join(logDir, base)];
  }
  const rotated = names
    .map((name) => rotationOf(name, base))
    .filter((n): n is number => n !== undefined && n > 0)
    .sort((a, b) => b - a);
  return [...rotated.map((n) => join(logDir, logFileName(n, base))), join(logDir, base)];
}

/** The index of the first file (oldest first) last written at or after `since`; length if none. */
export function firstFileSince(mtimes: readonly (Date | undefined)[], since: Date | undefined): number {
  if (!since) return 0;
  const index = mtimes.findIndex((time) => time !== undefined && time.getTime() >= since.getTime());
  return index < 0 ? mtimes.length : index;
}

async function mtimeOf(path: string): Promise<Date | undefined> {
  try {
    return (await stat(path)).mtime;
  } catch {
    return undefined;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Reads [position, position+length) of a file; fewer bytes at its end, none if it is missing. */
async function readRange(path: string, position: number, length: number, stats?: ReadStats) {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch {
    return new Uint8Array(0);
  }
  try {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
      if (stats) {
        stats.reads++;
        stats.bytesRead += bytesRead;
      }
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Yields [from, to) of a file in chunks; stops early at its end. Returns where it stopped. */
async function* readSpan(
  path: string,
  from: number,
  to: number,
  chunkSize: number,
  stats: ReadStats | undefined,
  signal: AbortSignal | undefined,
  onChunk?: (bytes: Uint8Array) => void,
): AsyncGenerator<Uint8Array, number> {
  let position = from;
  while (position < to && !signal?.aborted) {
    const bytes = await readRange(path, position, Math.min(chunkSize, to - position), stats);
    if (bytes.length === 0) break;
    position += bytes.length;
    onChunk?.(bytes);
    yield bytes;
  }
  return position;
}

/** Whether `path` has exactly `fingerprint` just before `position`. */
async function hasFingerprint(path: string, position: number, fingerprint: Uint8Array, stats?: ReadStats) {
  if (position > (await sizeOf(path))) return false;
  if (fingerprint.length === 0) return true;
  const bytes = await readRange(path, position - fingerprint.length, fingerprint.length, stats);
  return Buffer.from(bytes).equals(fingerprint);
}

/** The last FINGERPRINT_BYTES of `previous` followed by `bytes`. */
function extendFingerprint(previous: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (bytes.length >= FINGERPRINT_BYTES) return bytes.slice(bytes.length - FINGERPRINT_BYTES);
  const joined = new Uint8Array(previous.length + bytes.length);
  joined.set(previous);
  joined.set(bytes, previous.length);
  return joined.slice(Math.max(0, joined.length - FINGERPRINT_BYTES));
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A worker's log as a stream: the last `tail` lines (default: everything kept) of the files
 * written since `since`, then with `follow` the bytes appended later, until `signal` aborts;
 * with `timestamps` each line begins with a time (see the header). Ends quietly when the files
 * are gone.
 */
export async function* readWorkerLog(
  logDir: string,
  options: ReadWorkerLogOptions = {},
): AsyncGenerator<Uint8Array, void> {
  const clock: Clock = { time: undefined };
  const chunks = readLogBytes(logDir, options, clock);
  if (!options.timestamps) return yield* chunks;
  const stamper = new LineStamper();
  for await (const bytes of chunks) yield stamper.stamp(bytes, timePrefix(clock.time ?? new Date()));
}

/** The time of the bytes being yielded: a file's last write; undefined: now (followed). */
interface Clock {
  time: Date | undefined;
}

async function* readLogBytes(
  logDir: string,
  options: ReadWorkerLogOptions,
  clock: Clock,
): AsyncGenerator<Uint8Array, void> {
  const { signal, stats } = options;
  const chunkSize = options.chunkSize ?? READ_CHUNK;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const base = options.previous ? PREVIOUS_LOG : CURRENT_LOG;
  const current = join(logDir, base);

  // History: a snapshot of the sizes, so that a growing current.log does not make it endless.
  // Files last written before `since` count as empty.
  const files = await logFiles(logDir, base);
  const mtimes = await Promise.all(files.map(mtimeOf));
  const first = firstFileSince(mtimes, options.since);
  const fullSizes = await Promise.all(files.map(sizeOf));
  const sizes = fullSizes.map((size, i) => (i < first ? 0 : size));
  const last = files.length - 1;
  const start =
    first > last
      ? { file: last, offset: fullSizes[last] ?? 0 } // nothing since: only what comes next
      : options.tail === undefined
        ? { file: first, offset: 0 }
        : await findTailStart(
            sizes,
            options.tail,
            (file, position, length) => readRange(files[file] ?? current, position, length, stats),
            chunkSize,
          );
  // position in current.log and the bytes just before it, as read (not re-read: by then the
  // file may have been rotated).
  let position = 0;
  let fingerprint: Uint8Array = new Uint8Array(0);
  const track = (bytes: Uint8Array) => {
    fingerprint = extendFingerprint(fingerprint, bytes);
  };
  if (start.file === last && start.offset > 0) {
    // Reading starts inside current.log (e.g. tail 0): the fingerprint is what precedes it.
    const before = Math.min(start.offset, FINGERPRINT_BYTES);
    fingerprint = await readRange(current, start.offset - before, before, stats);
    if (fingerprint.length !== before) fingerprint = new Uint8Array(0);
  }
  for (let file = start.file; file <= last; file++) {
    const path = files[file] ?? current;
    const from = file === start.file ? start.offset : 0;
    clock.time = mtimes[file];
    if (file < last) {
      yield* readSpan(path, from, sizes[file] ?? 0, chunkSize, stats, signal);
      continue;
    }
    position = yield* readSpan(path, from, sizes[file] ?? 0, chunkSize, stats, signal, track);
  }
  if (!options.follow || options.previous) return;
  clock.time = undefined;

  while (!signal?.aborted) {
    await sleep(pollMs, signal);
    if (signal?.aborted) return;
    if (!(await hasFingerprint(current, position, fingerprint, stats))) {
      // Rotated: finish the rotated copy of what we were reading, then start current.log over.
      const rotated = (await logFiles(logDir, base)).slice(0, -1).reverse(); // .1, .2, …
      for (let k = 0; k < rotated.length; k++) {
        const path = rotated[k] ?? current;
        if (!(await hasFingerprint(path, position, fingerprint))) continue;
        for (let j = k; j >= 0; j--) {
          const newer = rotated[j] ?? current;
          yield* readSpan(newer, j === k ? position : 0, await sizeOf(newer), chunkSize, stats, signal);
        }
        break;
      }
      position = 0;
      fingerprint = new Uint8Array(0);
    }
    const end = await sizeOf(current);
    if (end > position) position = yield* readSpan(current, position, end, chunkSize, stats, signal, track);
  }
}
