// Bytes received but not consumed yet (a partial head, read-ahead of pipelined requests). Appending
// to an empty buffer keeps the received chunk itself (no copy: the common case of a whole request in
// one read); growing allocates a new buffer, so a view handed out earlier (e.g. queued for writing)
// is never overwritten.
const EMPTY = Buffer.alloc(0);

/** A Buffer view of the same bytes (the Duplex contract only promises a Uint8Array). */
export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export class ReadBuffer {
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  /** The buffer is ours (allocated here), so bytes past `end` may be written in place. */
  private owned = false;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Uint8Array): void {
    const c = asBuffer(chunk);
    if (this.start === this.end) {
      this.buf = c;
      this.start = 0;
      this.end = c.byteLength;
      this.owned = false;
      return;
    }
    if (this.owned && this.end + c.byteLength <= this.buf.byteLength) {
      this.buf.set(c, this.end);
      this.end += c.byteLength;
      return;
    }
    const length = this.end - this.start;
    const next = Buffer.allocUnsafe(Math.max(2 * (length + c.byteLength), 4096));
    this.buf.copy(next, 0, this.start, this.end);
    next.set(c, length);
    this.buf = next;
    this.start = 0;
    this.end = length + c.byteLength;
    this.owned = true;
  }

  /** Everything unconsumed, as a view, and then empty. */
  takeAll(): Buffer {
    const out = this.buf.subarray(this.start, this.end);
    this.clear();
    return out;
  }

  clear(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.end = 0;
    this.owned = false;
  }
}
