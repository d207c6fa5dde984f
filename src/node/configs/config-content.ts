// The Config files of this node's plan, by reference: read() gives a file's bytes from the
// node's store (content-store.ts), fetching them from the cloud first when they are not there
// (content-source.ts), verified against the sha256 and size the plan names. Transient failures (the
// cloud away, a broken transfer, bytes that do not match) are retried with backoff for as long as
// someone waits; concurrent reads of one sha256 share one fetch. A worker whose Config content is
// missing waits for it (its status says so: missing()); it never starts with unverified content.
import type { ConfigFileRef } from "../../manifest/plan.ts";
import { sleep, untilAborted } from "../../runtime/abort.ts";
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from "../../runtime/backoff.ts";
import { describeError, PermanentError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { type ConfigContentSource, nodeConfigSource } from "./content-source.ts";
import { ConfigContentStore, sha256Of } from "./content-store.ts";

export interface ConfigContentOptions {
  store: Store;
  log: Logger;
  /** Default: this node's cloud over HTTP. */
  source?: ConfigContentSource | undefined;
  backoff?: BackoffOptions;
}

interface Job {
  controller: AbortController;
  waiters: number;
  promise: Promise<Uint8Array>;
}

export interface ReadOptions {
  signal?: AbortSignal | undefined;
  secret?: boolean | undefined;
}

export class ConfigContent {
  private readonly stored: ConfigContentStore;
  private readonly source: ConfigContentSource;
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly options: ConfigContentOptions) {
    this.stored = new ConfigContentStore(options.store);
    this.source = options.source ?? nodeConfigSource(options.store);
  }

  /** The references whose content this node does not hold yet. */
  missing(refs: readonly ConfigFileRef[]): ConfigFileRef[] {
    return refs.filter((ref) => !this.stored.has(ref.sha256));
  }

  /**
   * The verified bytes of one file; rejects with a PermanentError or the signal's reason. `secret`:
   * a Secret's value, whose hash is not logged (nor put in an error) either.
   */
  async read(ref: ConfigFileRef, options: ReadOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted();
    const held = this.stored.get(ref.sha256);
    if (held) return held;
    const job = this.jobs.get(ref.sha256) ?? this.start(ref, options.secret === true);
    job.waiters++;
    try {
      return await untilAborted(job.promise, options.signal);
    } finally {
      job.waiters--;
      if (job.waiters === 0 && this.jobs.get(ref.sha256) === job) {
        this.jobs.delete(ref.sha256);
        job.controller.abort(new DOMException("nobody waits for the content any more", "AbortError"));
      }
    }
  }

  /** Deletes the content of every sha256 not in `inUse` (those the current plan references). */
  gc(inUse: ReadonlySet<string>): number {
    const keep = new Set([...inUse, ...this.jobs.keys()]);
    return this.stored.keepOnly(keep);
  }

  private start(ref: ConfigFileRef, secret: boolean): Job {
    const controller = new AbortController();
    const job: Job = { controller, waiters: 0, promise: this.fetch(ref, secret, controller.signal) };
    job.promise.catch(() => {});
    this.jobs.set(ref.sha256, job);
    void job.promise
      .finally(() => {
        if (this.jobs.get(ref.sha256) === job) this.jobs.delete(ref.sha256);
      })
      .catch(() => {});
    return job;
  }

  private async fetch(ref: ConfigFileRef, secret: boolean, signal: AbortSignal): Promise<Uint8Array> {
    const { log } = this.options;
    const shown = (sha256: string) => (secret ? "(a Secret's value)" : sha256);
    const backoff = new Backoff(this.options.backoff ?? DEFAULT_BACKOFF);
    for (;;) {
      signal.throwIfAborted();
      let problem: string;
      try {
        const bytes = await this.source.fetch(ref.sha256, signal);
        const sha = sha256Of(bytes);
        if (sha === ref.sha256 && bytes.length === ref.size) {
          this.stored.put(ref.sha256, bytes);
          log.info("config content fetched", { sha256: shown(ref.sha256), size: bytes.length });
          return bytes;
        }
        problem = `got ${bytes.length} bytes with sha256 ${shown(sha)}, expected ${ref.size} bytes with ${shown(ref.sha256)}`;
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        if (err instanceof PermanentError) throw err;
        problem = describeError(err);
      }
      const delay = backoff.next();
      log.warn("config content fetch failed; retrying", {
        sha256: shown(ref.sha256),
        error: problem,
        retryInMs: delay,
      });
      await sleep(delay, signal);
    }
  }
}
