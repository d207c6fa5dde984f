// `levee ctl logs SERVICE` without --node: the logs of every worker of the service at once, each
// line prefixed `[node/index] ` and the streams merged line by line as they arrive (with -f, all
// of them followed). Pure of I/O: the sources are async iterables of bytes and the output a write
// function, so the splitting and the interleaving are tested without sockets. A line is written
// whole or not at all, so two workers' lines never mix; a last line without a newline gets one.

const NEWLINE = 0x0a;

/** Splits a byte stream into whole lines, each with a prefix (a partial line waits for the rest). */
export class LinePrefixer {
  private pending: Uint8Array[] = [];
  private readonly head: Uint8Array;

  constructor(prefix: string) {
    this.head = Buffer.from(prefix, "utf8");
  }

  /** The complete lines in `bytes` (with what was pending), prefixed; undefined when none. */
  push(bytes: Uint8Array): Uint8Array | undefined {
    const out: Uint8Array[] = [];
    let from = 0;
    for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, from)) {
      out.push(this.head, ...this.pending, bytes.subarray(from, i + 1));
      this.pending = [];
      from = i + 1;
    }
    if (from < bytes.length) this.pending.push(bytes.slice(from));
    return out.length > 0 ? Buffer.concat(out) : undefined;
  }

  /** The last line if it had no newline (given one), at the end of the stream. */
  flush(): Uint8Array | undefined {
    if (this.pending.length === 0) return undefined;
    const line = Buffer.concat([this.head, ...this.pending, Buffer.from("\n")]);
    this.pending = [];
    return line;
  }
}

/** The prefix of a worker's lines. */
export function workerPrefix(node: string, index: number): string {
  return `[${node}/${index}] `;
}

export interface LogSource {
  prefix: string;
  body: AsyncIterable<Uint8Array>;
}

export interface MergeResult {
  /** false: the output went away (the reading stopped). */
  written: boolean;
  /** The sources that broke off, with why (prefix: error). */
  failures: string[];
}

/**
 * Reads every source at once and writes their prefixed lines as they complete, one write at a
 * time (awaiting each, so the output's backpressure holds every reader). Resolves when all the
 * sources ended, or the output refused a write.
 */
export async function mergeLogStreams(
  sources: readonly LogSource[],
  write: (bytes: Uint8Array) => Promise<boolean>,
): Promise<MergeResult> {
  let queue: Promise<boolean> = Promise.resolve(true);
  let open = true;
  const failures: string[] = [];
  const emit = (bytes: Uint8Array | undefined): Promise<boolean> => {
    if (!bytes) return queue;
    queue = queue
      .then((ok) => (ok && open ? write(bytes) : false))
      .then((ok) => {
        if (!ok) open = false;
        return ok;
      });
    return queue;
  };
  await Promise.all(
    sources.map(async ({ prefix, body }) => {
      const lines = new LinePrefixer(prefix);
      const iterator = body[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done || !open) break;
          if (!(await emit(lines.push(next.value)))) break;
        }
        await emit(lines.flush());
      } catch (err) {
        await emit(lines.flush());
        failures.push(`${prefix}${err instanceof Error ? err.message : String(err)}`);
      } finally {
        if (!open) await iterator.return?.()?.catch(() => {});
      }
    }),
  );
  return { written: (await queue) && open, failures };
}
