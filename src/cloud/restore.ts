// `levee cloud --restore FILE`: writes a backup (backup-format.ts) into a new or empty data dir,
// offline, before the cloud opens it. Every file is checked against the manifest's size and
// sha256, the database with PRAGMA integrity_check; anything wrong removes what was written and
// refuses with one line (exit 2). A non-empty data dir is refused: a restore never merges.
//
// The restored cloud gets a new epoch. Edges keep their identities (the nodes table, their
// tokens and the mesh CA come back) and reconnect without joining again; when they say hello
// with the old epoch the cloud sends their plan, which they accept as a fresh snapshot (another
// epoch is accepted whatever its revision), and revisions go on from the backup's. Keeping the
// old epoch would be wrong: an edge that applied a revision newer than the backup's would take
// the restored cloud's plans (lower revisions of the same epoch) for stale duplicates and ignore
// every apply until the revision caught up. Workers whose spec is the same in the restored plan
// keep running (their spec hash is unchanged); what changed after the backup is undone.
import { Database } from "bun:sqlite";
import { createHash, randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { describeError, RefusalError } from "../runtime/errors.ts";
import { describeFsError } from "../runtime/fs-errors.ts";
import { readTar, TarError, writeAll } from "../runtime/tar.ts";
import {
  type BackupManifest,
  DB_NAME,
  MANIFEST_MAX_BYTES,
  MANIFEST_NAME,
  parseManifest,
} from "./backup-format.ts";

export interface RestoreResult {
  manifest: BackupManifest;
  /** The epoch the restored cloud starts with. */
  epoch: string;
}

/** Restores `file` into `dataDir` (which must not exist or be empty). */
export function restoreBackup(file: string, dataDir: string): RestoreResult {
  const createdDir = prepareEmptyDir(dataDir);
  const written: string[] = [];
  try {
    const manifest = extract(file, dataDir, written);
    const epoch = checkDatabase(join(dataDir, DB_NAME), file);
    return { manifest, epoch };
  } catch (err) {
    for (const path of written.reverse()) rmSync(path, { force: true });
    rmSync(join(dataDir, "kube-api"), { recursive: true, force: true });
    rmSync(join(dataDir, "artifacts"), { recursive: true, force: true });
    if (createdDir) rmSync(dataDir, { recursive: true, force: true });
    if (err instanceof RefusalError) throw err;
    if (err instanceof TarError)
      throw new RefusalError(`cannot restore ${file}: not a valid backup (${err.message})`);
    throw new RefusalError(`cannot restore ${file}: ${describeFsError(err)}`);
  }
}

function prepareEmptyDir(dataDir: string): boolean {
  if (existsSync(dataDir)) {
    const entries = readdirSync(dataDir);
    if (entries.length > 0)
      throw new RefusalError(
        `cannot restore into ${dataDir}: the data dir is not empty (${entries.length} entries); ` +
          "restore only into a new or empty directory",
      );
    return false;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return true;
}

function extract(file: string, dataDir: string, written: string[]): BackupManifest {
  if (!existsSync(file) || !statSync(file).isFile())
    throw new RefusalError(`cannot restore ${file}: no such file`);
  let manifest: BackupManifest | undefined;
  const seen = new Set<string>();
  readTar(file, (entry, read) => {
    if (!manifest) {
      if (entry.name !== MANIFEST_NAME || entry.size > MANIFEST_MAX_BYTES)
        throw new RefusalError(
          `cannot restore ${file}: not a levee backup (its first entry is not ${MANIFEST_NAME})`,
        );
      const chunks: Uint8Array[] = [];
      read((c) => chunks.push(c.slice()));
      const parsed = parseManifest(Buffer.concat(chunks).toString("utf8"));
      if (typeof parsed === "string") throw new RefusalError(`cannot restore ${file}: ${parsed}`);
      manifest = parsed;
      return;
    }
    const listed = manifest.files.find((f) => f.name === entry.name);
    if (!listed || seen.has(entry.name))
      throw new RefusalError(`cannot restore ${file}: entry ${entry.name} is not in ${MANIFEST_NAME}`);
    seen.add(entry.name);
    const path = join(dataDir, entry.name);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, "wx", 0o600);
    written.push(path);
    const hash = createHash("sha256");
    let size = 0;
    try {
      read((chunk) => {
        hash.update(chunk);
        size += chunk.length;
        writeAll(fd, chunk);
      });
    } finally {
      closeSync(fd);
    }
    const sha = hash.digest("hex");
    if (size !== listed.size || sha !== listed.sha256)
      throw new RefusalError(
        `cannot restore ${file}: ${entry.name} is damaged (its sha256 is not the manifest's)`,
      );
  });
  if (!manifest) throw new RefusalError(`cannot restore ${file}: not a levee backup (empty archive)`);
  const missing = manifest.files.filter((f) => !seen.has(f.name)).map((f) => f.name);
  if (missing.length > 0)
    throw new RefusalError(`cannot restore ${file}: truncated, missing ${missing.join(", ")}`);
  return manifest;
}

/** Integrity check, the cloud's mode, then a new epoch; returns it. */
function checkDatabase(path: string, file: string): string {
  let db: Database;
  try {
    db = new Database(path, { strict: true });
  } catch (err) {
    throw new RefusalError(`cannot restore ${file}: its ${DB_NAME} does not open: ${describeError(err)}`);
  }
  try {
    const rows = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all();
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== "ok");
    if (problems.length > 0)
      throw new RefusalError(`cannot restore ${file}: integrity_check of ${DB_NAME} failed: ${problems[0]}`);
    const mode = db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'mode'").get()?.value;
    if (mode !== "cloud")
      throw new RefusalError(`cannot restore ${file}: it is not a cloud's store (mode ${mode ?? "unset"})`);
    const epoch = randomUUID();
    db.transaction(() => {
      const set = db.query(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      );
      set.run("epoch", epoch);
      set.run("restored-at", new Date().toISOString());
    })();
    return epoch;
  } catch (err) {
    if (err instanceof RefusalError) throw err;
    throw new RefusalError(
      `cannot restore ${file}: its ${DB_NAME} is not a valid database: ${describeError(err)}`,
    );
  } finally {
    db.close();
  }
}
