// Makes sure two agents never share a data dir. The lock is an exclusive SQLite lock on
// <data-dir>/levee.lock, i.e. a POSIX record lock held by the kernel: it is released when the
// process dies, even by kill -9, so a crashed agent never leaves a stale lock behind.
// (Bun has no flock(); SQLite's own locking gives us the same guarantee without FFI.)
// The holder writes its PID to <data-dir>/levee.pid so that the refusal can name it.
import { Database } from "bun:sqlite";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RefusalError } from "../runtime/errors.ts";

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string, mode: string): DataDirLock {
  const pidFile = join(dataDir, "levee.pid");
  const db = new Database(join(dataDir, "levee.lock"), { create: true });
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("BEGIN EXCLUSIVE");
    db.run("COMMIT");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    throw new RefusalError(`data dir ${dataDir} is in use by another levee agent (${holder(pidFile)})`);
  }
  writeFileSync(pidFile, `${process.pid} ${mode}\n`);
  return {
    release() {
      rmSync(pidFile, { force: true });
      db.close();
    },
  };
}

function holder(pidFile: string): string {
  try {
    const [pid, mode] = readFileSync(pidFile, "utf8").trim().split(/\s+/);
    return `levee ${mode ?? ""} pid ${pid}`.replace("  ", " ");
  } catch {
    return "pid unknown";
  }
}
