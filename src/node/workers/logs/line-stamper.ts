// Puts a prefix in front of every line of a byte stream that arrives in arbitrary chunks: the
// time of the line for `levee ctl logs --timestamps` of an exec worker (whose log files carry no
// times; log-reader.ts says which time). Pure: it remembers only whether the next byte starts a
// line, so a line cut between two chunks gets one prefix.

const NEWLINE = 0x0a;

export class LineStamper {
  private atLineStart = true;

  /** `bytes` with `prefix` before each line that starts in them. */
  stamp(bytes: Uint8Array, prefix: string): Uint8Array {
    if (bytes.length === 0) return bytes;
    const head = Buffer.from(prefix, "utf8");
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (this.atLineStart) {
        parts.push(bytes.subarray(from, i), head);
        from = i;
        this.atLineStart = false;
      }
      if (bytes[i] === NEWLINE) this.atLineStart = true;
    }
    parts.push(bytes.subarray(from));
    return Buffer.concat(parts);
  }
}

/** The prefix for a line written (or seen) at `time`: RFC 3339 in UTC, then a space. */
export function timePrefix(time: Date): string {
  return `${time.toISOString()} `;
}
