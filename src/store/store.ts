// The agent's durable state: <data-dir>/levee.db, SQLite in WAL mode with synchronous=FULL (a
// crash or power loss at any instant leaves the last committed transaction, never half of one).
// Opening it: lock the data dir, check integrity, apply migrations, check which mode owns it.
// A corrupt or foreign database is refused with a message; it is never repaired or overwritten.
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describeError, RefusalError } from "../runtime/errors.ts";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import { migrations as allMigrations, type Migration } from "./migrations.ts";
import { type ModeFix, restrictDataDir } from "./private-files.ts";

export interface Store {
  readonly db: Database;
  readonly path: string;
  /** Runs fn in one IMMEDIATE transaction; rolls back if it throws. */
  tx<T>(fn: (db: Database) => T): T;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}

export interface OpenOptions {
  dataDir: string;
  /** The agent opening it ("cloud" | "edge"); a data dir belongs to one mode for life. */
  mode: string;
  migrations?: readonly Migration[];
  /** Told which loose modes of the data dir and database files were tightened (0700, 0600). */
  onModesFixed?: (fixes: ModeFix[]) => void;
}

const CORRUPT = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB"]);

export function openStore(options: OpenOptions): Store {
  const { dataDir, mode } = options;
  prepareDataDir(dataDir);
  const lock = lockDataDir(dataDir, mode);
  try {
    const fixes = restrictModes(dataDir);
    if (fixes.length > 0) options.onModesFixed?.(fixes);
    const store = openLocked(options, lock);
    return store;
  } catch (err) {
    lock.release();
    throw err;
  }
}

function prepareDataDir(dataDir: string): void {
  try {
    if (!existsSync(dataDir)) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      chmodSync(dataDir, 0o700);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new RefusalError(`cannot create data dir ${dataDir}: ${code}`);
  }
}

function restrictModes(dataDir: string): ModeFix[] {
  try {
    return restrictDataDir(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? describeError(err);
    throw new RefusalError(`cannot make data dir ${dataDir} private (0700, database 0600): ${code}`);
  }
}

function openLocked(options: OpenOptions, lock: DataDirLock): Store {
  const path = join(options.dataDir, "levee.db");
  let db: Database;
  try {
    db = new Database(path, { create: true, strict: true });
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = FULL");
    db.run("PRAGMA foreign_keys = ON");
    const check = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
    const problems = check.map((r) => r.quick_check).filter((r) => r !== "ok");
    if (problems.length > 0) {
      db.close();
      throw corrupt(path, problems[0] ?? "quick_check failed");
    }
  } catch (err) {
    if (err instanceof RefusalError) throw err;
    const code = (err as { code?: string }).code ?? "";
    if (CORRUPT.has(code)) throw corrupt(path, describeError(err));
    throw new RefusalError(`cannot open database ${path}: ${describeError(err)}`);
  }

  try {
    migrate(db, path, options.migrations ?? allMigrations);
    claimMode(db, options.dataDir, options.mode);
  } catch (err) {
    db.close();
    throw err;
  }

  const tx = <T>(fn: (db: Database) => T): T => db.transaction(fn).immediate(db) as T;
  return {
    db,
    path,
    tx,
    getMeta: (key) =>
      db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?").get(key)?.value,
    setMeta: (key, value) =>
      tx(() =>
        db
          .query(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          )
          .run(key, value),
      ),
    close() {
      try {
        db.run("PRAGMA optimize");
      } catch {
        // best effort; closing matters more
      }
      db.close();
      lock.release();
    },
  };
}

function corrupt(path: string, detail: string): RefusalError {
  return new RefusalError(
    `database ${path} is corrupt (${detail}); refusing to start. ` +
      "Move it aside and restore a backup; levee does not repair or overwrite it",
  );
}

function migrate(db: Database, path: string, migrations: readonly Migration[]): void {
  const current = db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new RefusalError(
      `database ${path} has schema version ${current}, newer than this levee knows (${latest}); ` +
        "run the newer levee binary (downgrades are not supported)",
    );
  }
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return;
  let running: Migration | undefined;
  try {
    db.transaction(() => {
      for (const m of pending) {
        running = m;
        db.run(m.sql);
        db.run(`PRAGMA user_version = ${m.version}`);
      }
    }).immediate();
  } catch (err) {
    throw new RefusalError(
      `database ${path}: migration ${running?.version} (${running?.name}) failed: ${describeError(err)}; ` +
        `the database was left unchanged at schema version ${current}`,
    );
  }
}

function claimMode(db: Database, dataDir: string, mode: string): void {
  const row = db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'mode'").get();
  if (!row) {
    db.query("INSERT INTO meta (key, value) VALUES ('mode', ?), ('created', ?)").run(
      mode,
      new Date().toISOString(),
    );
    return;
  }
  if (row.value !== mode) {
    throw new RefusalError(
      `data dir ${dataDir} belongs to a levee ${row.value} agent; refusing to start levee ${mode} on it ` +
        "(use another --data-dir)",
    );
  }
}
