// Takes a backup of a running cloud (GET /api/v1/backup): an online copy of the store by
// `VACUUM INTO` (a consistent snapshot of the last committed transaction while the cloud keeps
// writing, and compacted), then the archive of backup-format.ts streamed from it. The snapshot is
// a temp file in the data dir (private, 0700), removed when the stream ends or is cancelled.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { type TarSource, tarStream } from "../runtime/tar.ts";
import { versionInfo } from "../runtime/version.ts";
import type { Store } from "../store/store.ts";
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  type BackupFile,
  type BackupManifest,
  DB_NAME,
  MANIFEST_NAME,
  SECRET_FILES,
} from "./backup-format.ts";
import { cloudEpoch } from "./link/sync-store.ts";

export interface Backup {
  manifest: BackupManifest;
  stream: ReadableStream<Uint8Array>;
}

const SNAPSHOT_PREFIX = ".backup-snapshot-";
/** Snapshots being streamed by this process (another backup must not remove them as stale). */
const inFlight = new Set<string>();

/** A snapshot of the store and the data-dir files; `artifacts` adds <data-dir>/artifacts/*. */
export async function takeBackup(
  store: Store,
  dataDir: string,
  options: { artifacts: boolean },
): Promise<Backup> {
  removeStaleSnapshots(dataDir);
  const snapshot = join(dataDir, `${SNAPSHOT_PREFIX}${randomUUID()}.db`);
  inFlight.add(snapshot);
  const cleanup = () => {
    inFlight.delete(snapshot);
    rmSync(snapshot, { force: true });
  };
  try {
    store.db.query("VACUUM INTO ?").run(snapshot);
    const sources: TarSource[] = [];
    const files: BackupFile[] = [];
    const add = (name: string, path: string, sha256: string) => {
      const size = statSync(path).size;
      files.push({ name, size, sha256 });
      sources.push({ name, size, chunks: () => Bun.file(path).stream() });
    };
    add(DB_NAME, snapshot, await hashFile(snapshot));
    for (const name of SECRET_FILES) {
      const path = join(dataDir, name);
      if (existsSync(path)) add(name, path, createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
    if (options.artifacts) {
      const dir = join(dataDir, "artifacts");
      const names = existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)) : [];
      // Content-addressed: the name is the sha256 (artifact-store.ts writes nothing else there).
      for (const sha of names.sort()) add(`artifacts/${sha}`, join(dir, sha), sha);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      levee: versionInfo().version,
      epoch: cloudEpoch(store),
      artifacts: options.artifacts,
      files,
    };
    const text = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
    const first: TarSource = { name: MANIFEST_NAME, size: text.length, chunks: () => once(text) };
    return { manifest, stream: onEnd(tarStream([first, ...sources]), cleanup) };
  } catch (err) {
    cleanup();
    throw err;
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

/** A snapshot left by a cloud that stopped in the middle of a backup. */
function removeStaleSnapshots(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    const path = join(dataDir, name);
    if (name.startsWith(SNAPSHOT_PREFIX) && !inFlight.has(path)) rmSync(path, { force: true });
  }
}

/** The stream, calling `done` once when it ends, fails or is cancelled. */
function onEnd(stream: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    try {
      done();
    } catch {
      // the snapshot is gone already; nothing to undo
    }
  };
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) {
          once();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (err) {
        once();
        controller.error(err);
      }
    },
    async cancel(reason) {
      once();
      await reader.cancel(reason);
    },
  });
}
