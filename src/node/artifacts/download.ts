// One artifact download into <sha256>.partial, retried until the file holds exactly the bytes whose
// sha256 is its name. An interrupted download keeps its partial file and the next attempt (also
// after an agent restart) asks only for the rest (Range); the hash runs over the partial's bytes
// and the new ones, so a partial that went bad fails the final check and is deleted. Transient
// failures are retried with exponential backoff and full jitter (reset whenever an attempt made
// progress); an unknown artifact, refused credentials or a wrong size are final. Each chunk read
// waits for the node's bandwidth cap (throttle) before the next is read.
import { createHash, type Hash } from "node:crypto";
import { statSync, unlinkSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { sleep } from "../../runtime/abort.ts";
import { Backoff, type BackoffOptions } from "../../runtime/backoff.ts";
import { describeError, LeveeError, PermanentError, RecoverableError } from "../../runtime/errors.ts";
import type { ArtifactSource } from "./artifact-source.ts";
import { afterUnsatisfiable, bodyEnd, planRequest, sizeProblem } from "./fetch-plan.ts";

/** Progress is reported at most this often while bytes flow. */
const PROGRESS_EVERY_MS = 250;

/** The bytes had another sha256: the partial was deleted (retried, a limited number of times). */
export class CorruptTransfer extends RecoverableError {}

export interface DownloadProgress {
  sha256: string;
  /** Bytes in the partial file so far. */
  received: number;
  /** The artifact's size, when known. */
  total: number | undefined;
  /** 1 for the first attempt. */
  attempt: number;
  /** Why the last attempt failed; the next starts after retryInMs. */
  error?: string;
  retryInMs?: number;
}

export interface DownloadOptions {
  sha256: string;
  expectedSize: number | undefined;
  /** The partial file; renamed by the caller once this resolves. */
  partial: string;
  source: ArtifactSource;
  signal: AbortSignal;
  backoff: BackoffOptions;
  /** After this many corrupt transfers in a row, give up (the cloud's copy may be bad). */
  maxCorrupt: number;
  /** An attempt that receives nothing for this long is abandoned (and retried). */
  idleTimeoutMs: number;
  onProgress(progress: DownloadProgress): void;
  /** Waits until `bytes` more may be received (the node's bandwidth cap); absent: no wait. */
  throttle?: ((bytes: number, signal: AbortSignal) => Promise<void>) | undefined;
}

/** Downloads until the partial file is verified; resolves to its size. */
export async function download(options: DownloadOptions): Promise<number> {
  const backoff = new Backoff(options.backoff);
  let corrupt = 0;
  for (let attempt = 1; ; attempt++) {
    const before = fileSize(options.partial);
    try {
      return await attemptOnce(options, attempt);
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason ?? err;
      if (err instanceof PermanentError) throw err;
      if (err instanceof CorruptTransfer) {
        corrupt++;
        if (corrupt >= options.maxCorrupt) {
          throw new PermanentError(
            `artifact ${options.sha256}: ${corrupt} transfers in a row had the wrong sha256 ` +
              `(last: ${err.message}); the copy at ${options.source.description} may be corrupt`,
          );
        }
      } else corrupt = 0;
      if (fileSize(options.partial) > before) backoff.reset();
      const retryInMs = backoff.next();
      options.onProgress({
        sha256: options.sha256,
        received: fileSize(options.partial),
        total: options.expectedSize,
        attempt,
        error: describeError(err),
        retryInMs,
      });
      await sleep(retryInMs, options.signal);
    }
  }
}

async function attemptOnce(options: DownloadOptions, attempt: number): Promise<number> {
  const { sha256, partial, source } = options;
  let partialSize = fileSize(partial);
  const plan = planRequest(partialSize, options.expectedSize);
  if (plan.kind === "restart") {
    removeFile(partial);
    partialSize = 0;
  }
  if (plan.kind === "verify") return verifyPartial(options);
  // The partial's bytes are hashed before the request: the answer is not kept waiting meanwhile.
  let hash = createHash("sha256");
  if (partialSize > 0) await hashFile(partial, hash);

  const attemptAbort = new AbortController();
  const onAbort = () => attemptAbort.abort(options.signal.reason);
  options.signal.addEventListener("abort", onAbort, { once: true });
  let idle: ReturnType<typeof setTimeout> | undefined;
  let idleFired = false;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      idleFired = true;
      attemptAbort.abort(
        new RecoverableError(`no data from ${source.description} for ${options.idleTimeoutMs} ms`),
      );
    }, options.idleTimeoutMs);
  };
  try {
    armIdle();
    const reply = await source.open(sha256, partialSize, attemptAbort.signal, options.expectedSize);
    if (reply.kind === "not-found") {
      throw new PermanentError(
        `artifact ${sha256} is not stored at ${source.description} (upload it with levee ctl artifact push)`,
      );
    }
    if (reply.kind === "unsatisfiable") {
      if (afterUnsatisfiable(partialSize, reply.total) === "verify")
        return checkDigest(options, hash.digest("hex"), partialSize);
      removeFile(partial);
      throw new RecoverableError(
        `the partial download is not a prefix of the artifact (${reply.total} bytes)`,
      );
    }
    const problem = sizeProblem(sha256, options.expectedSize, reply.total);
    if (problem) {
      await reply.body.cancel().catch(() => {});
      throw new PermanentError(problem);
    }
    if (reply.start === 0 && partialSize > 0) hash = createHash("sha256"); // the whole artifact again
    const file = await open(partial, reply.start === 0 ? "w" : "a", 0o600);
    let received = 0;
    let lastReport = 0;
    try {
      for await (const chunk of reply.body) {
        armIdle();
        hash.update(chunk);
        await writeAll(file, chunk);
        received += chunk.byteLength;
        if (options.throttle) {
          clearTimeout(idle); // waiting out the cap is not the source being idle
          await options.throttle(chunk.byteLength, attemptAbort.signal);
          armIdle();
        }
        if (bodyEnd(reply.start, received, reply.total) === "long")
          throw new RecoverableError(
            `${source.description} sent more than the ${reply.total} bytes it announced`,
          );
        if (options.expectedSize !== undefined && reply.start + received > options.expectedSize) {
          removeFile(partial);
          throw new PermanentError(
            `artifact ${sha256} has more than ${options.expectedSize} bytes in the cloud, ` +
              `but its reference says size ${options.expectedSize}`,
          );
        }
        const now = Date.now();
        if (now - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = now;
          options.onProgress({ sha256, received: reply.start + received, total: reply.total, attempt });
        }
      }
      await file.sync();
    } finally {
      await file.close();
    }
    if (bodyEnd(reply.start, received, reply.total) === "short") {
      throw new RecoverableError(
        `the transfer from ${source.description} ended after ${reply.start + received} of ${reply.total} bytes`,
      );
    }
    const size = reply.start + received;
    const wrongSize = sizeProblem(sha256, options.expectedSize, size);
    if (wrongSize) {
      removeFile(partial);
      throw new PermanentError(wrongSize);
    }
    return checkDigest(options, hash.digest("hex"), size);
  } catch (err) {
    if (idleFired && !options.signal.aborted) throw attemptAbort.signal.reason;
    if (err instanceof LeveeError || options.signal.aborted) throw err;
    throw new RecoverableError(`download from ${source.description} failed: ${describeError(err)}`);
  } finally {
    clearTimeout(idle);
    options.signal.removeEventListener("abort", onAbort);
  }
}

async function verifyPartial(options: DownloadOptions): Promise<number> {
  const hash = createHash("sha256");
  await hashFile(options.partial, hash);
  return checkDigest(options, hash.digest("hex"), fileSize(options.partial));
}

function checkDigest(options: DownloadOptions, actual: string, size: number): number {
  if (actual === options.sha256) return size;
  removeFile(options.partial);
  throw new CorruptTransfer(`the ${size} bytes received have sha256 ${actual}, not ${options.sha256}`);
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Writes all of `chunk` (a write may take only part of it). */
async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}
