// Docker's multiplexed log/attach stream (containers without a TTY): frames of an 8-byte header
// [stream type (0 stdin, 1 stdout, 2 stderr), 0, 0, 0, payload size as uint32 big-endian] followed
// by the payload. The demultiplexer is pure: chunks go in as they arrive from the socket (a header
// or payload may be split across chunks), whole payloads come out.

export type StreamType = "stdin" | "stdout" | "stderr";

export interface Frame {
  stream: StreamType;
  data: Uint8Array;
}

const HEADER = 8;
const TYPES: Record<number, StreamType> = { 0: "stdin", 1: "stdout", 2: "stderr" };

/** Reassembles frames from arbitrarily split chunks. Holds at most one partial frame. */
export class Demultiplexer {
  private buffer: Uint8Array = new Uint8Array(0);

  /** Adds a chunk; returns the frames it completed (in order). Throws on a malformed header. */
  push(chunk: Uint8Array): Frame[] {
    const buf = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= HEADER) {
      const type = TYPES[buf[at] as number];
      if (type === undefined || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0)
        throw new Error(`malformed Docker stream header at byte ${at}: ${[...buf.subarray(at, at + 4)]}`);
      const size =
        ((buf[at + 4] as number) << 24) |
        ((buf[at + 5] as number) << 16) |
        ((buf[at + 6] as number) << 8) |
        (buf[at + 7] as number);
      const length = size >>> 0;
      if (buf.length - at - HEADER < length) break;
      // A copy, so that a payload never pins (or is changed with) the socket's buffer.
      frames.push({ stream: type, data: buf.slice(at + HEADER, at + HEADER + length) });
      at += HEADER + length;
    }
    this.buffer = at === buf.length ? new Uint8Array(0) : buf.slice(at);
    return frames;
  }

  /** Bytes of an incomplete frame still waiting for the rest (0 at a clean end of stream). */
  get pending(): number {
    return this.buffer.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
