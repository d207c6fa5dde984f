// A node's artifact cache: <data-dir>/cache/artifacts/<sha256>, one verified, read-only (0444) file
// per artifact, shared by every worker of the node, recorded in the artifact_cache table.
// ensure() returns the file's path, downloading it first when needed (download.ts: resumed,
// verified, retried); concurrent ensure() calls for one artifact share one download, so it is
// fetched once per node however many workers mount it. A file under its final name was renamed
// there only after its sha256 matched, so a hit is not hashed again. gc() deletes what is not in use.
import { chmodSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { type ArtifactRef, SHA256_HEX } from "../../manifest/artifact.ts";
import { untilAborted } from "../../runtime/abort.ts";
import { type BackoffOptions, DEFAULT_BACKOFF } from "../../runtime/backoff.ts";
import { PermanentError } from "../../runtime/errors.ts";
import { fsyncDir } from "../../runtime/fsync-dir.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { type ArtifactSource, nodeArtifactSource } from "./artifact-source.ts";
import type { BandwidthLimit } from "./bandwidth-limit.ts";
import { type DownloadProgress, download } from "./download.ts";
import { sizeProblem } from "./fetch-plan.ts";

export type { DownloadProgress as ArtifactProgress } from "./download.ts";

const PARTIAL = ".partial";

export interface ArtifactCacheOptions {
  store: Store;
  /** The node's data dir: the cache is <dataDir>/cache/artifacts. */
  dataDir: string;
  log: Logger;
  /** Where the bytes come from; default: this node's cloud (or, on the cloud, its artifact dir). */
  source?: ArtifactSource;
  /** Retry delays; default: 1 s doubling up to 60 s, full jitter. */
  backoff?: BackoffOptions;
  /** Corrupt transfers in a row before ensure() fails; default 5. */
  maxCorruptTransfers?: number;
  /** An attempt that receives nothing for this long is retried; default 60 s. */
  idleTimeoutMs?: number;
  /** The node's download bandwidth cap, shared by all its downloads; absent: unlimited. */
  bandwidth?: BandwidthLimit | undefined;
  /** After each fetch attempt (the agent's levee_artifact_fetches_total and its bytes). */
  onFetch?: ((outcome: "fetched" | "retried" | "failed", bytes: number) => void) | undefined;
}

export interface EnsureOptions {
  /** Stops waiting (rejects with the signal's reason); the download stops when nobody waits. */
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface GcResult {
  /** The files deleted (blobs and partial downloads). */
  removed: string[];
  freedBytes: number;
}

/** ensure() failed for good: unknown artifact, wrong size, refused credentials, corrupt source. */
export class ArtifactError extends PermanentError {
  constructor(
    readonly sha256: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where a node's verified artifacts are: <dataDir>/cache/artifacts. */
export function artifactCacheDir(dataDir: string): string {
  return join(dataDir, "cache", "artifacts");
}

interface Job {
  controller: AbortController;
  listeners: Set<(progress: DownloadProgress) => void>;
  waiters: number;
  done: boolean;
  promise: Promise<number>;
  /** Resolves when the job ended, however. */
  settled: Promise<void>;
}

export class ArtifactCache {
  readonly dir: string;
  private readonly source: ArtifactSource;
  private readonly jobs = new Map<string, Job>();
  /** Downloads abandoned by all their waiters that have not stopped yet: a new one waits for them. */
  private readonly stopping = new Map<string, Promise<void>>();

  constructor(private readonly options: ArtifactCacheOptions) {
    this.dir = artifactCacheDir(options.dataDir);
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    this.source = options.source ?? nodeArtifactSource(options.store, options.dataDir);
  }

  /** Where an artifact's file is (or will be) on this node. */
  path(sha256: string): string {
    return join(this.dir, sha256);
  }

  /** Whether the artifact is in the cache (verified). */
  has(sha256: string): boolean {
    return SHA256_HEX.test(sha256) && this.cachedSize(sha256) !== undefined;
  }

  /**
   * The absolute path of the artifact's verified file, fetched first if needed. Rejects with an
   * ArtifactError when it cannot be had (unknown to the cloud, wrong size, ...), or with the
   * signal's reason; transient failures are retried for as long as someone waits.
   */
  async ensure(ref: ArtifactRef, options: EnsureOptions = {}): Promise<string> {
    const { sha256 } = ref;
    if (!SHA256_HEX.test(sha256))
      throw new ArtifactError(sha256, `invalid artifact sha256 ${JSON.stringify(sha256)}`);
    options.signal?.throwIfAborted();
    let size = this.cachedSize(sha256);
    if (size === undefined) size = await this.join(ref, options);
    const problem = sizeProblem(sha256, ref.size, size);
    if (problem) throw new ArtifactError(sha256, problem);
    this.options.store.db
      .query("UPDATE artifact_cache SET last_used = ? WHERE sha256 = ?")
      .run(new Date().toISOString(), sha256);
    return this.path(sha256);
  }

  /**
   * Deletes every cached artifact and partial download whose sha256 is not in `inUse` (nor being
   * downloaded). The caller passes every artifact its current plan mounts.
   */
  gc(inUse: ReadonlySet<string>): GcResult {
    const removed: string[] = [];
    let freedBytes = 0;
    const keep = (sha: string) => inUse.has(sha) || this.jobs.has(sha) || this.stopping.has(sha);
    for (const entry of readdirSync(this.dir)) {
      const sha = entry.endsWith(PARTIAL) ? entry.slice(0, -PARTIAL.length) : entry;
      if (!SHA256_HEX.test(sha) || keep(sha)) continue;
      const path = join(this.dir, entry);
      try {
        const size = statSync(path).size;
        unlinkSync(path);
        removed.push(entry);
        freedBytes += size;
      } catch (err) {
        this.options.log.warn("cannot remove a cached artifact", { path, error: err as Error });
      }
    }
    this.options.store.tx((db) => {
      const rows = db.query<{ sha256: string }, []>("SELECT sha256 FROM artifact_cache").all();
      const remove = db.query("DELETE FROM artifact_cache WHERE sha256 = ?");
      for (const { sha256 } of rows) if (!keep(sha256)) remove.run(sha256);
    });
    if (removed.length > 0)
      this.options.log.info("artifact cache cleaned", { removed: removed.length, freedBytes });
    return { removed, freedBytes };
  }

  /** The size of the cached file, or undefined when it is not cached (a stale row is dropped). */
  private cachedSize(sha256: string): number | undefined {
    const { db } = this.options.store;
    let size: number | undefined;
    try {
      size = statSync(this.path(sha256)).size;
    } catch {
      db.query("DELETE FROM artifact_cache WHERE sha256 = ?").run(sha256);
      return undefined;
    }
    // Renamed into place after verification, but the row was not written (a crash in between).
    if (!db.query("SELECT 1 FROM artifact_cache WHERE sha256 = ?").get(sha256)) {
      const now = new Date().toISOString();
      db.query(
        "INSERT OR IGNORE INTO artifact_cache (sha256, size, fetched_at, last_used) VALUES (?, ?, ?, ?)",
      ).run(sha256, size, now, now);
    }
    return size;
  }

  /** Waits for the artifact's download, starting it if none runs. */
  private async join(ref: ArtifactRef, options: EnsureOptions): Promise<number> {
    const job = this.jobs.get(ref.sha256) ?? this.start(ref);
    job.waiters++;
    if (options.onProgress) job.listeners.add(options.onProgress);
    try {
      return await untilAborted(job.promise, options.signal);
    } finally {
      job.waiters--;
      if (options.onProgress) job.listeners.delete(options.onProgress);
      if (job.waiters === 0 && !job.done) this.abandon(ref.sha256, job);
    }
  }

  private start(ref: ArtifactRef): Job {
    const { sha256 } = ref;
    const controller = new AbortController();
    const listeners = new Set<(progress: DownloadProgress) => void>();
    const previous = this.stopping.get(sha256) ?? Promise.resolve();
    const job = { controller, listeners, waiters: 0, done: false } as Job;
    // Marked done before any waiter resumes, so that a waiter leaving last never abandons it.
    job.promise = previous
      .then(() => this.fetch(ref, controller.signal, listeners))
      .finally(() => {
        job.done = true;
        if (this.jobs.get(sha256) === job) this.jobs.delete(sha256);
      });
    job.settled = job.promise.then(
      () => {},
      () => {},
    );
    this.jobs.set(sha256, job);
    return job;
  }

  private abandon(sha256: string, job: Job): void {
    job.controller.abort(new DOMException("nobody waits for the artifact any more", "AbortError"));
    if (this.jobs.get(sha256) === job) this.jobs.delete(sha256);
    this.stopping.set(sha256, job.settled);
    void job.settled.then(() => {
      if (this.stopping.get(sha256) === job.settled) this.stopping.delete(sha256);
    });
  }

  private async fetch(
    ref: ArtifactRef,
    signal: AbortSignal,
    listeners: ReadonlySet<(progress: DownloadProgress) => void>,
  ): Promise<number> {
    const { sha256 } = ref;
    const { log, bandwidth } = this.options;
    signal.throwIfAborted();
    // Another download (before an abandoned one stopped) may have finished it meanwhile.
    const cached = this.cachedSize(sha256);
    if (cached !== undefined) return cached;
    const partial = `${this.path(sha256)}${PARTIAL}`;
    log.info("fetching artifact", { sha256, name: ref.name, from: this.source.description });
    let size: number;
    try {
      size = await download({
        sha256,
        expectedSize: ref.size,
        partial,
        source: this.source,
        signal,
        backoff: this.options.backoff ?? DEFAULT_BACKOFF,
        maxCorrupt: this.options.maxCorruptTransfers ?? 5,
        idleTimeoutMs: this.options.idleTimeoutMs ?? 60_000,
        throttle: bandwidth ? (bytes, abort) => bandwidth.take(bytes, abort) : undefined,
        onProgress: (progress) => {
          if (progress.error) this.options.onFetch?.("retried", 0);
          if (progress.error)
            log.warn("artifact fetch failed; retrying", {
              sha256,
              error: progress.error,
              retryInMs: progress.retryInMs,
            });
          for (const listener of listeners) listener(progress);
        },
      });
    } catch (err) {
      if (err instanceof PermanentError) {
        this.options.onFetch?.("failed", 0);
        log.error("artifact fetch failed", { sha256, error: err.message });
        throw new ArtifactError(sha256, err.message);
      }
      throw err;
    }
    chmodSync(partial, 0o444);
    renameSync(partial, this.path(sha256));
    fsyncDir(this.dir);
    const now = new Date().toISOString();
    this.options.store.tx((db) =>
      db
        .query(
          `INSERT INTO artifact_cache (sha256, size, fetched_at, last_used) VALUES (?, ?, ?, ?)
           ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, fetched_at = excluded.fetched_at,
           last_used = excluded.last_used`,
        )
        .run(sha256, size, now, now),
    );
    this.options.onFetch?.("fetched", size);
    log.info("artifact fetched", { sha256, size });
    return size;
  }
}
