// Reads a log whose lines each begin with their time and a space (Docker's `timestamps` format,
// RFC 3339 with nanoseconds): the kept log of a container worker's run before the last restart
// (container-log-keeper.ts). `levee ctl logs --previous` for a container then gets exact
// `--since` (lines before it are dropped) and `--timestamps` (the time kept or taken off), as for
// the running container. Pure: the lines are split from chunks however they are cut.

import type { LogReadOptions } from "../drivers/driver.ts";
import { readWorkerLog } from "./log-reader.ts";

const NEWLINE = 0x0a;
const SPACE = 0x20;

export interface TimedLineOptions {
  /** Drop the lines before this time. */
  since?: Date | undefined;
  /** Keep each line's time (else it is taken off). */
  timestamps?: boolean | undefined;
}

/** The time at the start of a timed line, in ms (nanoseconds beyond ms are dropped); NaN if none. */
export function lineTime(line: Uint8Array): number {
  const space = line.indexOf(SPACE);
  if (space <= 0) return Number.NaN;
  return Date.parse(Buffer.from(line.subarray(0, space)).toString("latin1"));
}

/** Filters timed lines: what to output for each chunk of input, and at the end. */
export class TimedLineFilter {
  private pending: Uint8Array[] = [];

  constructor(private readonly options: TimedLineOptions) {}

  /** The whole lines in `bytes` (with what was pending) that pass, as wanted. */
  push(bytes: Uint8Array): Uint8Array {
    const out: Uint8Array[] = [];
    let from = 0;
    for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, from)) {
      const line = Buffer.concat([...this.pending, bytes.subarray(from, i + 1)]);
      this.pending = [];
      from = i + 1;
      const kept = this.line(line);
      if (kept) out.push(kept);
    }
    if (from < bytes.length) this.pending.push(bytes.slice(from));
    return Buffer.concat(out);
  }

  /** The last line, if it had no newline. */
  flush(): Uint8Array {
    if (this.pending.length === 0) return new Uint8Array(0);
    const line = Buffer.concat(this.pending);
    this.pending = [];
    return this.line(line) ?? new Uint8Array(0);
  }

  private line(line: Uint8Array): Uint8Array | undefined {
    const time = lineTime(line);
    const since = this.options.since;
    // A line without a time (not Docker's format) passes untouched: nothing to filter it by.
    if (Number.isNaN(time)) return line;
    if (since && time < since.getTime()) return undefined;
    return this.options.timestamps ? line : line.subarray(line.indexOf(SPACE) + 1);
  }
}

/** A timed log as a stream, filtered (see TimedLineFilter). */
export async function* filterTimedLines(
  source: AsyncIterable<Uint8Array>,
  options: TimedLineOptions,
): AsyncGenerator<Uint8Array, void> {
  const filter = new TimedLineFilter(options);
  for await (const bytes of source) {
    const out = filter.push(bytes);
    if (out.length > 0) yield out;
  }
  const last = filter.flush();
  if (last.length > 0) yield last;
}

/**
 * The last `lines` lines of a stream (all of it when undefined), yielded once it ends: for a tail
 * that must count after a filter. Memory: those lines only.
 */
export async function* lastLines(
  source: AsyncIterable<Uint8Array>,
  lines: number | undefined,
): AsyncGenerator<Uint8Array, void> {
  if (lines === undefined) return yield* source;
  const kept: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  const keep = (line: Uint8Array) => {
    kept.push(line);
    if (kept.length > lines) kept.shift();
  };
  for await (const bytes of source) {
    let from = 0;
    for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, from)) {
      keep(Buffer.concat([...pending, bytes.subarray(from, i + 1)]));
      pending = [];
      from = i + 1;
    }
    if (from < bytes.length) pending.push(bytes.slice(from));
  }
  if (pending.length > 0) keep(Buffer.concat(pending));
  if (kept.length > 0) yield Buffer.concat(kept);
}

/**
 * A container worker's kept log (previous.log, timed by Docker): `since` and `timestamps` exact
 * per line, `tail` counted after `since`. Never followed: that run writes no more.
 */
export function readKeptContainerLog(logDir: string, options: LogReadOptions): AsyncIterable<Uint8Array> {
  const { since, timestamps, signal } = options;
  if (since === undefined)
    return filterTimedLines(readWorkerLog(logDir, { previous: true, tail: options.tail, signal }), {
      timestamps,
    });
  const all = readWorkerLog(logDir, { previous: true, signal });
  return lastLines(filterTimedLines(all, { since, timestamps }), options.tail);
}
