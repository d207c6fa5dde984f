// Reads the newline-terminated header lines that open tunnel and relay connections, from chunks
// as they arrive, with a length limit; whatever follows the line is handed back untouched (it is
// the start of the stream: TLS records or payload). Pure.

export type LineResult =
  | { kind: "more" }
  | { kind: "line"; line: string; rest: Uint8Array }
  | { kind: "too-long" };

export class LineReader {
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** Feeds a chunk; a complete line (without "\n", UTF-8 decoded) once one arrived. */
  push(chunk: Uint8Array): LineResult {
    const newline = chunk.indexOf(0x0a);
    if (newline < 0) {
      this.size += chunk.byteLength;
      if (this.size > this.maxBytes) return { kind: "too-long" };
      this.parts.push(chunk.slice());
      return { kind: "more" };
    }
    if (this.size + newline > this.maxBytes) return { kind: "too-long" };
    const head = this.parts.length
      ? Buffer.concat([...this.parts, chunk.subarray(0, newline)])
      : chunk.subarray(0, newline);
    this.parts = [];
    this.size = 0;
    const line = new TextDecoder().decode(head).replace(/\r$/, "");
    return { kind: "line", line, rest: chunk.subarray(newline + 1) };
  }
}

/**
 * Feeds `chunk` to `reader` and hands each complete line, with the bytes after it, to `onLine`,
 * which answers whether to read on (false: the phase is over, or the rest belongs to someone else).
 * Reading also stops when the chunk is used up; a line over the limit calls `onTooLong`.
 */
export function readLines(
  reader: LineReader,
  chunk: Uint8Array,
  onLine: (line: string, rest: Uint8Array) => boolean,
  onTooLong: () => void,
): void {
  let input = chunk;
  for (;;) {
    const read = reader.push(input);
    if (read.kind === "more") return;
    if (read.kind === "too-long") {
      onTooLong();
      return;
    }
    if (!onLine(read.line, read.rest) || read.rest.byteLength === 0) return;
    input = read.rest;
  }
}
