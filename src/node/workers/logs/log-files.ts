// Where an exec worker's output goes, and how it is kept to a bounded size. The worker writes
// stdout and stderr straight into <worker dir>/logs/current.log through a file descriptor opened
// with O_APPEND (openLogFileForChild): no pipe through the agent, so a worker keeps logging while
// the agent is down, restarting or being upgraded.
//
// Because the agent does not own the writer, rotation is copy-truncate (as logrotate's
// `copytruncate`): when current.log is larger than maxBytes, current.log.1 … .N-1 shift up by one
// (the oldest is deleted), current.log is copied to current.log.1 (through a temporary file and a
// rename, so .1 is always complete) and then truncated to 0; an O_APPEND writer's next write lands
// at the new end of file. Lines the worker writes between the end of the copy and the truncate are
// lost. That window is a few microseconds (the copy catches up with the writer before
// truncating), the same trade-off logrotate makes. A worker that writes blocks rather than lines
// (block-buffered stdout) may also have a line cut at the rotation: current.log.1 then ends without
// a newline and current.log starts with the rest of a later line.
//
// A rotated copy keeps current.log's modification time (the time of its last line), which is
// what `levee ctl logs --since` goes by for exec workers (log-reader.ts). When a new instance of
// the worker starts, its predecessor's files (current.log and its rotations) become previous.log
// (and previous.log.<n>), replacing the ones before: `levee ctl logs --previous`.
import {
  closeSync,
  constants as fsConstants,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
} from "node:fs";
import { open, rename, rm, stat, truncate, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "../../../runtime/log.ts";

export const CURRENT_LOG = "current.log";
/** The output of the instance before the current one (its rotations: previous.log.<n>). */
export const PREVIOUS_LOG = "previous.log";
/** Rotate current.log once it is larger than this. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** Rotated files kept: current.log.1 (newest) … current.log.3 (oldest). */
export const DEFAULT_KEEP = 3;
/** How often the supervisor's rotator looks at the sizes (one stat per worker). */
export const DEFAULT_CHECK_INTERVAL_MS = 5000;
const COPY_CHUNK = 256 * 1024;
/** Catch-up passes after the main copy before truncating (a writer faster than this loses more). */
const CATCH_UP_PASSES = 4;

/** <data dir>/workers/<service>/<index>/logs: the directory of one worker's log files. */
export function workerLogDir(dataDir: string, service: string, index: number): string {
  return join(dataDir, "workers", service, String(index), "logs");
}

/** current.log (or another base), or its n-th rotation current.log.<n>. */
export function logFileName(n: number, base = CURRENT_LOG): string {
  return n === 0 ? base : `${base}.${n}`;
}

/** The rotation number of `name` in the family of `base` (current.log.3 → 3), 0 for base itself. */
export function rotationOf(name: string, base = CURRENT_LOG): number | undefined {
  if (name === base) return 0;
  if (!name.startsWith(`${base}.`)) return undefined;
  const n = name.slice(base.length + 1);
  return /^[1-9][0-9]{0,5}$/.test(n) ? Number(n) : undefined;
}

/**
 * A new instance of the worker is about to start: the files of the one before (current.log and
 * its rotations) become previous.log and previous.log.<n>, replacing the previous ones, so that
 * the new instance starts an empty current.log. Only the started instance writes the new file
 * (the one before has exited), so renames are safe; nothing there is fine (a first start).
 */
export function archiveInstanceLog(logDir: string): void {
  let names: string[];
  try {
    names = readdirSync(logDir);
  } catch {
    return;
  }
  const current = names.filter((name) => rotationOf(name) !== undefined);
  if (current.length === 0) return;
  for (const name of names)
    if (rotationOf(name, PREVIOUS_LOG) !== undefined) rmSync(join(logDir, name), { force: true });
  for (const name of current)
    renameSync(join(logDir, name), join(logDir, logFileName(rotationOf(name) ?? 0, PREVIOUS_LOG)));
}

/** The rotated files, newest first: current.log.1 … current.log.<keep>. */
export function rotatedNames(keep: number): string[] {
  return Array.from({ length: keep }, (_, i) => logFileName(i + 1));
}

/**
 * The file a worker's stdout and stderr go to: created if missing (with its directory), opened
 * write-only with O_APPEND, mode 0640. The caller hands the fd to the child (stdio) and closes its
 * own copy once the child is spawned.
 */
export function openLogFileForChild(path: string): number {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  return openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o640);
}

/** Closes an fd from openLogFileForChild (ignores an fd already closed). */
export function closeLogFile(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export interface RotationPlan {
  /** Files to delete first (the oldest, which would be shifted out). */
  remove: string[];
  /** Renames to run in this order (oldest first, so nothing is overwritten). */
  renames: [from: string, to: string][];
  /** Where the copy of current.log goes; undefined when keep is 0 (current.log is only truncated). */
  copyTo: string | undefined;
}

/**
 * What a rotation does, given which rotated files exist now: pure, so that the shifting can be
 * tested without files. With keep 3 and .1, .2, .3 present: delete .3, .2→.3, .1→.2, copy → .1.
 */
export function planRotation(existing: ReadonlySet<string>, keep: number): RotationPlan {
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`keep must be an integer ≥ 0, got ${keep}`);
  if (keep === 0) return { remove: [], renames: [], copyTo: undefined };
  const remove = existing.has(logFileName(keep)) ? [logFileName(keep)] : [];
  const renames: [string, string][] = [];
  for (let n = keep - 1; n >= 1; n--) {
    if (existing.has(logFileName(n))) renames.push([logFileName(n), logFileName(n + 1)]);
  }
  return { remove, renames, copyTo: logFileName(1) };
}

/** Whether a log of `size` bytes is due for rotation. */
export function needsRotation(size: number, maxBytes: number): boolean {
  return size > maxBytes;
}

export interface RotatorOptions {
  maxBytes?: number;
  keep?: number;
  intervalMs?: number;
  log?: Logger;
}

/**
 * Keeps the logs of the workers it watches below maxBytes (+ what is written between two checks).
 * The supervisor watch()es each exec worker's log dir and unwatch()es it when the worker goes;
 * start() checks all of them every intervalMs, one at a time.
 */
export class LogRotator {
  readonly maxBytes: number;
  readonly keep: number;
  private readonly intervalMs: number;
  private readonly dirs = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: RotatorOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.keep = options.keep ?? DEFAULT_KEEP;
    this.intervalMs = options.intervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    if (!(this.maxBytes > 0)) throw new RangeError(`maxBytes must be > 0, got ${this.maxBytes}`);
    planRotation(new Set(), this.keep); // validates keep
  }

  watch(logDir: string): void {
    this.dirs.add(logDir);
  }

  unwatch(logDir: string): void {
    this.dirs.delete(logDir);
  }

  watching(): string[] {
    return [...this.dirs];
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Stops the timer and waits for a check in progress. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Checks every watched log once (a check already running is joined, not doubled). */
  checkAll(): Promise<void> {
    this.running ??= (async () => {
      try {
        for (const dir of [...this.dirs]) {
          try {
            await this.rotateIfNeeded(dir);
          } catch (err) {
            this.options.log?.warn("cannot rotate worker log", { dir, error: err });
          }
        }
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Rotates <logDir>/current.log if it is larger than maxBytes; true when it did. */
  async rotateIfNeeded(logDir: string): Promise<boolean> {
    const current = join(logDir, CURRENT_LOG);
    let size: number;
    try {
      size = (await stat(current)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    if (!needsRotation(size, this.maxBytes)) return false;
    await rotate(logDir, this.keep);
    this.options.log?.debug("worker log rotated", { dir: logDir, bytes: size });
    return true;
  }
}

/** One copy-truncate rotation of <logDir>/current.log (see the header). */
export async function rotate(logDir: string, keep: number): Promise<void> {
  const existing = new Set<string>();
  for (const name of rotatedNames(keep)) {
    if (await exists(join(logDir, name))) existing.add(name);
  }
  const plan = planRotation(existing, keep);
  for (const name of plan.remove) await rm(join(logDir, name), { force: true });
  for (const [from, to] of plan.renames) await rename(join(logDir, from), join(logDir, to));
  const current = join(logDir, CURRENT_LOG);
  if (plan.copyTo !== undefined) {
    const target = join(logDir, plan.copyTo);
    const temp = `${target}.tmp`;
    const lastWrite = await copyCatchingUp(current, temp);
    await utimes(temp, lastWrite, lastWrite);
    await rename(temp, target);
  }
  await truncate(current, 0);
}

/**
 * Copies `from` to `to` in bounded chunks, then copies again what the writer appended meanwhile
 * (a few passes), so that the window between copy and truncate is as small as it can be. Returns
 * the source's modification time as of the last pass (the time of the last line copied).
 */
async function copyCatchingUp(from: string, to: string): Promise<Date> {
  const src = await open(from, "r");
  const dst = await open(to, "w", 0o640);
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    let copied = 0;
    let lastWrite = new Date();
    for (let pass = 0; pass <= CATCH_UP_PASSES; pass++) {
      const info = await src.stat();
      const end = info.size;
      lastWrite = info.mtime;
      if (end <= copied) break;
      while (copied < end) {
        const { bytesRead } = await src.read(buffer, 0, Math.min(COPY_CHUNK, end - copied), copied);
        if (bytesRead === 0) break;
        await dst.write(buffer, 0, bytesRead, copied);
        copied += bytesRead;
      }
    }
    return lastWrite;
  } finally {
    await src.close();
    await dst.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
