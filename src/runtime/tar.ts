// A minimal ustar archive: regular files only, names under 100 bytes, written as a stream and
// read entry by entry from a file (never held whole in memory). Enough for `levee ctl backup`;
// written here because no dependency in the tree writes tar, and the format's subset we need is
// small (a 512-byte header with an octal checksum, the data padded to 512, two zero blocks).
// Any tar(1) lists and extracts what it writes (`tar tvf backup.tar`).
import { closeSync, openSync, readSync, writeSync } from "node:fs";

export const BLOCK = 512;
const NAME_MAX = 99;
/** Largest entry the reader accepts: 64 GiB (a bad size field must not mean "read forever"). */
export const TAR_ENTRY_MAX = 64 * 1024 ** 3;

export class TarError extends Error {}

/** The header of a regular file `name` of `size` bytes. */
export function tarHeader(name: string, size: number, mode = 0o600, mtime = Date.now()): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length === 0 || nameBytes.length > NAME_MAX)
    throw new TarError(`tar entry name "${name}" must be 1..${NAME_MAX} bytes`);
  const h = new Uint8Array(BLOCK);
  h.set(nameBytes, 0);
  putOctal(h, 100, 8, mode);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, Math.floor(mtime / 1000));
  h.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  h[156] = 0x30; // '0': regular file
  h.set(new TextEncoder().encode("ustar\u000000"), 257);
  putOctal(h, 148, 7, checksum(h));
  return h;
}

/** The zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end of an archive: two zero blocks. */
export const TAR_END = new Uint8Array(2 * BLOCK);

export interface TarSource {
  name: string;
  size: number;
  mode?: number;
  /** The entry's bytes; must yield exactly `size` of them. */
  chunks(): AsyncIterable<Uint8Array>;
}

/** An archive of `entries` as a byte stream; an entry that yields another size than it said fails it. */
export function tarStream(entries: readonly TarSource[]): ReadableStream<Uint8Array> {
  const it = tarChunks(entries);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}

async function* tarChunks(entries: readonly TarSource[]): AsyncGenerator<Uint8Array> {
  for (const entry of entries) {
    yield tarHeader(entry.name, entry.size, entry.mode);
    let written = 0;
    for await (const chunk of entry.chunks()) {
      written += chunk.length;
      if (written > entry.size) break;
      yield chunk;
    }
    if (written !== entry.size)
      throw new TarError(`${entry.name} changed while it was archived (${written} bytes, not ${entry.size})`);
    yield tarPadding(entry.size);
  }
  yield TAR_END;
}

export interface TarEntry {
  name: string;
  size: number;
  mode: number;
}

/**
 * Reads an archive file entry by entry: `onEntry` gets each header and a function that passes
 * the data to `sink` in chunks (called at most once; data not read is skipped). Throws TarError
 * on a bad header, a truncated file, or an entry that is not a regular file.
 */
export function readTar(
  path: string,
  onEntry: (entry: TarEntry, read: (sink: (chunk: Uint8Array) => void) => void) => void,
): void {
  const fd = openSync(path, "r");
  try {
    let offset = 0;
    const header = new Uint8Array(BLOCK);
    for (;;) {
      if (readSync(fd, header, 0, BLOCK, offset) !== BLOCK)
        throw new TarError("truncated: no end-of-archive blocks");
      offset += BLOCK;
      if (header.every((b) => b === 0)) return;
      const entry = parseHeader(header, offset - BLOCK);
      const dataAt = offset;
      onEntry(entry, (sink) => copyRange(fd, dataAt, entry.size, sink));
      offset = dataAt + entry.size + tarPadding(entry.size).length;
    }
  } finally {
    closeSync(fd);
  }
}

/** Copies a file range to a sink (the reader's data function, for a file descriptor). */
function copyRange(fd: number, start: number, size: number, sink: (chunk: Uint8Array) => void): void {
  const buf = new Uint8Array(1024 * 1024);
  let done = 0;
  while (done < size) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - done), start + done);
    if (n === 0) throw new TarError(`truncated inside an entry (${done} of ${size} bytes)`);
    sink(buf.subarray(0, n));
    done += n;
  }
}

/** Writes a chunk fully to a file descriptor. */
export function writeAll(fd: number, chunk: Uint8Array): void {
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
}

function parseHeader(h: Uint8Array, at: number): TarEntry {
  const stored = readOctal(h, 148, 8);
  const copy = h.slice();
  copy.fill(0x20, 148, 156);
  if (stored !== checksum(copy)) throw new TarError(`bad header checksum at byte ${at}`);
  const end = h.indexOf(0);
  const name = new TextDecoder().decode(h.subarray(0, end < 0 || end > 100 ? 100 : end));
  const type = h[156];
  if (type !== 0x30 && type !== 0) throw new TarError(`entry ${name}: only regular files are allowed`);
  const size = readOctal(h, 124, 12);
  if (size > TAR_ENTRY_MAX) throw new TarError(`entry ${name}: size ${size} is over the limit`);
  return { name, size, mode: readOctal(h, 100, 8) };
}

function checksum(h: Uint8Array): number {
  let sum = 0;
  for (const b of h) sum += b;
  return sum;
}

function putOctal(h: Uint8Array, at: number, width: number, value: number): void {
  const text = value.toString(8).padStart(width - 1, "0");
  if (text.length > width - 1) throw new TarError(`value ${value} does not fit a tar header field`);
  h.set(new TextEncoder().encode(text), at);
  h[at + width - 1] = 0;
}

function readOctal(h: Uint8Array, at: number, width: number): number {
  const text = new TextDecoder()
    .decode(h.subarray(at, at + width))
    .replace(/[\0 ]+$/g, "")
    .trim();
  if (!/^[0-7]*$/.test(text)) throw new TarError("a header field is not an octal number");
  return text === "" ? 0 : Number.parseInt(text, 8);
}
