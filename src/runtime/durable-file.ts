// Replacing a file so that a crash or a failed write never leaves it half written: the bytes go to
// a temp file next to it, which gets its exact mode (whatever the umask), is fsynced, renamed over
// the file, and the directory is fsynced so that the rename is on disk too. On a failure the temp
// file is removed and the error thrown; the old file, if any, is untouched.

import { chmodSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncDir, fsyncPath } from "./fsync-dir.ts";

export interface DurableWriteOptions {
  /** The file's mode; default 0600. The temp file is created with it (a secret is never readable). */
  mode?: number;
  /** The temp file; default `.<name>.tmp-<pid>` in the same directory (a rename does not cross it). */
  temp?: string;
}

/** Writes `data` to `path` durably (see the header). */
export function writeFileDurably(
  path: string,
  data: string | Uint8Array,
  options: DurableWriteOptions = {},
): void {
  const mode = options.mode ?? 0o600;
  replaceFileDurably(path, (temp) => writeFileSync(temp, data, { mode }), options);
}

/** Replaces `path` with what `fill` writes to the temp file it is given (a copy, a stream, ...). */
export function replaceFileDurably(
  path: string,
  fill: (temp: string) => void,
  options: DurableWriteOptions = {},
): void {
  const temp = options.temp ?? tempPathFor(path);
  try {
    fill(temp);
    commit(temp, path, options.mode ?? 0o600);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** replaceFileDurably for a `fill` that takes its time (a download). */
export async function replaceFileDurablyAsync(
  path: string,
  fill: (temp: string) => Promise<void>,
  options: DurableWriteOptions = {},
): Promise<void> {
  const temp = options.temp ?? tempPathFor(path);
  try {
    await fill(temp);
    commit(temp, path, options.mode ?? 0o600);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
}

function commit(temp: string, path: string, mode: number): void {
  chmodSync(temp, mode);
  fsyncPath(temp);
  renameSync(temp, path);
  fsyncDir(dirname(path));
}
