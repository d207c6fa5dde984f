// Durability of a write or a rename: a file's bytes are on disk once it is fsynced, a rename's new
// name once its directory is. One open-fsync-close for both (a directory opens read-only too).
import { closeSync, fsyncSync, openSync } from "node:fs";

/** fsync of a file or a directory by its path. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename in `dir` durable. */
export function fsyncDir(dir: string): void {
  fsyncPath(dir);
}
