// The cloud's artifacts: content-addressed blobs (DNN models, ...) in <data-dir>/artifacts/<sha256>,
// one row each in the `artifacts` table. An upload is streamed to a temp file while it is hashed
// (never held in memory), fsynced, then renamed into place and recorded in one transaction, so a
// blob under its final name always has exactly the bytes its name says. The same bytes again are
// "unchanged". An artifact that a Service mounts, that holds a container image or that is a binary
// of a running or paused agent upgrade rollout cannot be deleted.
import { createHash, randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { SHA256_HEX } from "../manifest/artifact.ts";
import { PermanentError } from "../runtime/errors.ts";
import { fsyncDir } from "../runtime/fsync-dir.ts";
import type { Store } from "../store/store.ts";
import { type ActiveBinaryUse, activeRolloutsUsing } from "./upgrade/upgrade-store.ts";

/** Default largest artifact: 8 GiB. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 8 * 1024 ** 3;
const TEMP_PREFIX = ".upload-";

export interface ArtifactInfo {
  sha256: string;
  name: string;
  size: number;
  createdAt: string;
}

export type PutOutcome = "created" | "unchanged";

export class ArtifactTooLarge extends PermanentError {
  constructor(readonly maxBytes: number) {
    super(`artifact larger than the limit of ${maxBytes} bytes (levee cloud --artifact-max-size)`);
  }
}

export class ArtifactHashMismatch extends PermanentError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`the uploaded bytes have sha256 ${actual}, not the expected ${expected}; nothing was stored`);
  }
}

export interface PutOptions {
  name: string;
  /** When given, the upload is refused unless its bytes have this sha256. */
  expectedSha256?: string | undefined;
  /** The Content-Length, if the client sent one: refused at once when over the limit. */
  declaredSize?: number | undefined;
}

export type DeleteResult =
  | { kind: "deleted"; artifact: ArtifactInfo }
  | { kind: "not-found" }
  | { kind: "in-use"; services: string[] }
  /** The artifact holds container images (levee ctl image push): deleted with them. */
  | { kind: "image"; references: string[] }
  /** A binary of a running or paused upgrade rollout: it must stay until the rollout ends. */
  | { kind: "upgrade"; uses: ActiveBinaryUse[] };

interface Row {
  sha256: string;
  name: string;
  size: number;
  created_at: string;
}

const toInfo = (row: Row): ArtifactInfo => ({
  sha256: row.sha256,
  name: row.name,
  size: row.size,
  createdAt: row.created_at,
});

export class ArtifactStore {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(
    private readonly store: Store,
    dataDir: string,
    options: { maxBytes?: number } = {},
  ) {
    this.dir = join(dataDir, "artifacts");
    this.maxBytes = options.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.removeLeftovers();
  }

  /** The file of a stored blob (it exists when get(sha) is defined). */
  blobPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
    return join(this.dir, sha256);
  }

  list(): ArtifactInfo[] {
    return this.store.db.query<Row, []>("SELECT * FROM artifacts ORDER BY name, sha256").all().map(toInfo);
  }

  get(sha256: string): ArtifactInfo | undefined {
    const row = this.store.db.query<Row, [string]>("SELECT * FROM artifacts WHERE sha256 = ?").get(sha256);
    return row ? toInfo(row) : undefined;
  }

  /**
   * Stores the bytes of `body`. Throws ArtifactTooLarge or ArtifactHashMismatch (nothing is kept),
   * or the stream's own error when the client went away.
   */
  async put(
    body: ReadableStream<Uint8Array> | null,
    options: PutOptions,
  ): Promise<{ outcome: PutOutcome; artifact: ArtifactInfo }> {
    if (options.declaredSize !== undefined && options.declaredSize > this.maxBytes)
      throw new ArtifactTooLarge(this.maxBytes);
    const temp = join(this.dir, `${TEMP_PREFIX}${randomUUID()}`);
    const hash = createHash("sha256");
    let size = 0;
    try {
      const file = await open(temp, "wx", 0o600);
      try {
        if (body) {
          for await (const chunk of body) {
            size += chunk.byteLength;
            if (size > this.maxBytes) throw new ArtifactTooLarge(this.maxBytes);
            hash.update(chunk);
            await file.write(chunk);
          }
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const sha256 = hash.digest("hex");
      if (options.expectedSha256 !== undefined && options.expectedSha256 !== sha256)
        throw new ArtifactHashMismatch(options.expectedSha256, sha256);
      // From here on synchronous: no delete() can run between the check and the insert.
      return this.commit(temp, sha256, size, options.name);
    } finally {
      removeQuietly(temp);
    }
  }

  private commit(
    temp: string,
    sha256: string,
    size: number,
    name: string,
  ): { outcome: PutOutcome; artifact: ArtifactInfo } {
    const path = join(this.dir, sha256);
    const existing = this.get(sha256);
    if (existing && existsSync(path)) return { outcome: "unchanged", artifact: existing };
    chmodSync(temp, 0o444);
    renameSync(temp, path);
    fsyncDir(this.dir);
    const createdAt = new Date().toISOString();
    this.store.tx((db) =>
      db
        .query("INSERT OR IGNORE INTO artifacts (sha256, name, size, created_at) VALUES (?, ?, ?, ?)")
        .run(sha256, name, size, createdAt),
    );
    return { outcome: existing ? "unchanged" : "created", artifact: this.get(sha256) as ArtifactInfo };
  }

  /**
   * Deletes an artifact unless a Service mounts it (then: the services' names), it is an image's or
   * it is a binary of an active upgrade rollout.
   */
  delete(sha256: string): DeleteResult {
    const result = this.store.tx((db): DeleteResult => {
      const row = db.query<Row, [string]>("SELECT * FROM artifacts WHERE sha256 = ?").get(sha256);
      if (!row) return { kind: "not-found" };
      const services = servicesMounting(db, sha256);
      if (services.length > 0) return { kind: "in-use", services };
      const references = db
        .query<{ reference: string }, [string]>(
          "SELECT reference FROM images WHERE sha256 = ? ORDER BY reference",
        )
        .all(sha256)
        .map((r) => r.reference);
      if (references.length > 0) return { kind: "image", references };
      const uses = activeRolloutsUsing(db, sha256);
      if (uses.length > 0) return { kind: "upgrade", uses };
      db.query("DELETE FROM artifacts WHERE sha256 = ?").run(sha256);
      return { kind: "deleted", artifact: toInfo(row) };
    });
    if (result.kind === "deleted") removeQuietly(join(this.dir, sha256));
    return result;
  }

  /** Temp files of uploads cut by a crash, and blobs renamed into place whose row was never written. */
  private removeLeftovers(): void {
    const known = new Set(
      this.store.db
        .query<{ sha256: string }, []>("SELECT sha256 FROM artifacts")
        .all()
        .map((r) => r.sha256),
    );
    for (const entry of readdirSync(this.dir)) {
      if (entry.startsWith(TEMP_PREFIX) || (SHA256_HEX.test(entry) && !known.has(entry)))
        removeQuietly(join(this.dir, entry));
    }
  }
}

/** The Services whose template (or a worker's template override) mounts the artifact. */
export function servicesMounting(db: Store["db"], sha256: string): string[] {
  const rows = db
    .query<{ name: string; spec: string }, []>("SELECT name, spec FROM resources WHERE kind = 'Service'")
    .all();
  return rows.filter((row) => templatesOf(JSON.parse(row.spec)).some(mounts(sha256))).map((r) => r.name);
}

function templatesOf(spec: unknown): unknown[] {
  if (!isRecord(spec)) return [];
  const workers = Array.isArray(spec.workers) ? spec.workers : [];
  return [spec.template, ...workers.map((w) => (isRecord(w) ? w.template : undefined))];
}

function mounts(sha256: string): (template: unknown) => boolean {
  return (template) =>
    isRecord(template) &&
    Array.isArray(template.mounts) &&
    template.mounts.some((m) => isRecord(m) && isRecord(m.artifact) && m.artifact.sha256 === sha256);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** The size of a stored blob's file, or undefined when it is missing. */
export function blobSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
