// The data dir holds secrets (levee.db has the node's MQTT password and mesh key; admin.token and
// mesh-ca.key sit beside it), so it is 0700 and the database files are 0600 — also when the dir or
// the files existed before with looser modes (a dir made by hand or by a package, a database from an
// older levee). Loose modes are tightened at start and reported, so the agent can log them once.
import { chmodSync, closeSync, lstatSync, openSync } from "node:fs";
import { join } from "node:path";

/** A mode that was tightened: the path, its old and its new mode (octal text, e.g. "0644"). */
export interface ModeFix {
  path: string;
  from: string;
  to: string;
}

const DATABASE_FILES = ["levee.db", "levee.db-wal", "levee.db-shm"];

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;

/**
 * Sets `path` to `mode` when its permission bits allow more (group or others); a symbolic link is
 * never followed (and not changed). Returns the fix, or undefined when nothing changed or the
 * path does not exist.
 */
export function restrictMode(path: string, mode: number): ModeFix | undefined {
  let current: number;
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return undefined;
    current = stat.mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if ((current & ~mode) === 0) return undefined;
  chmodSync(path, mode);
  return { path, from: octal(current), to: octal(mode) };
}

/**
 * The data dir 0700 and the database files 0600. Called before SQLite opens the database: SQLite
 * gives the -wal and -shm files it creates the mode of levee.db, so levee.db is created here first
 * (empty, 0600) when it does not exist yet.
 */
export function restrictDataDir(dataDir: string): ModeFix[] {
  const fixes = [restrictMode(dataDir, 0o700)];
  const db = join(dataDir, DATABASE_FILES[0] as string);
  closeSync(openSync(db, "a", 0o600));
  for (const name of DATABASE_FILES) fixes.push(restrictMode(join(dataDir, name), 0o600));
  return fixes.filter((f): f is ModeFix => f !== undefined);
}
