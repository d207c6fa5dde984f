// Finds where an HTTP/1.1 message body ends without copying it (pure). The proxy passes bodies on as
// they arrive (chunked stays chunked, byte for byte), so what it needs from a body is its exact end,
// and the certainty that a malformed chunked body is refused rather than guessed at: the decoder
// validates chunk sizes (hex, no sign, no "0x", no whitespace except before a chunk extension, bounded),
// extensions, the CRLF after every chunk's data, and the trailer section (field syntax, bounded size).
import { HttpParseError, TCHAR, VALUE_CHAR } from "./http-fields.ts";
import type { Framing } from "./http-parser.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const SEMI = 59;
const COLON = 58;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}
enum S {
  None,
  Length,
  Close,
  SizeFirst,
  Size,
  SizeBws,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  FinalLf,
  Done,
}

/** Longest chunk-size line (size + extensions), bytes. */
const MAX_SIZE_LINE = 4096;
/** Largest trailer section, bytes. */
const MAX_TRAILERS = 16 * 1024;
/** Largest chunk: 2^53 - 1 is where numbers stop being exact. */
const MAX_CHUNK = Number.MAX_SAFE_INTEGER;

/** One reader per connection direction, reset for each message. */
export class BodyReader {
  private state: S = S.Done;
  private remaining = 0;
  private lineBytes = 0;
  private errorStatus = 400;

  /** Starts a message with this framing; errors carry `errorStatus` (400 requests, 502 responses). */
  reset(framing: Framing, errorStatus: number): void {
    this.errorStatus = errorStatus;
    this.remaining = 0;
    this.lineBytes = 0;
    switch (framing.kind) {
      case "none":
        this.state = S.Done;
        break;
      case "length":
        this.state = framing.length > 0 ? S.Length : S.Done;
        this.remaining = framing.length;
        break;
      case "chunked":
        this.state = S.SizeFirst;
        break;
      case "close":
        this.state = S.Close;
        break;
    }
  }

  get done(): boolean {
    return this.state === S.Done;
  }

  /** Close-delimited: the body ends when the connection does. */
  get closeDelimited(): boolean {
    return this.state === S.Close;
  }

  /** Body bytes still expected for a Content-Length body (0 otherwise). */
  get remainingLength(): number {
    return this.state === S.Length ? this.remaining : 0;
  }

  /** The peer closed: a close-delimited body is complete, anything else is truncated. */
  eof(): boolean {
    if (this.state === S.Close) this.state = S.Done;
    return this.state === S.Done;
  }

  /**
   * Consumes body bytes of buf[start, end). Returns the index just after the body's last byte when
   * the body ends within the range, or -1 when the whole range is body and more is expected.
   */
  feed(buf: Uint8Array, start: number, end: number): number {
    switch (this.state) {
      case S.Done:
        return start;
      case S.Close:
        return -1;
      case S.Length: {
        const available = end - start;
        if (available < this.remaining) {
          this.remaining -= available;
          return -1;
        }
        const stop = start + this.remaining;
        this.remaining = 0;
        this.state = S.Done;
        return stop;
      }
      default:
        return this.feedChunked(buf, start, end);
    }
  }

  private fail(message: string): never {
    throw new HttpParseError(this.errorStatus, message);
  }

  private feedChunked(buf: Uint8Array, start: number, end: number): number {
    let pos = start;
    let state = this.state;
    while (pos < end) {
      if (state === S.Data) {
        const n = Math.min(this.remaining, end - pos);
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) state = S.DataCr;
        continue;
      }
      const c = buf[pos] as number;
      pos++;
      switch (state) {
        case S.SizeFirst: {
          const d = HEX[c] as number;
          if (d < 0) this.fail("invalid chunk size");
          this.remaining = d;
          this.lineBytes = 1;
          state = S.Size;
          break;
        }
        case S.Size: {
          const d = HEX[c] as number;
          if (d >= 0) {
            if (this.remaining > (MAX_CHUNK - d) / 16) this.fail("chunk size too large");
            this.remaining = this.remaining * 16 + d;
            if (++this.lineBytes > MAX_SIZE_LINE) this.fail("chunk size line too long");
          } else if (c === CR) state = S.SizeLf;
          else if (c === SEMI) state = S.Ext;
          else if (c === SP || c === HTAB) state = S.SizeBws;
          else this.fail("invalid chunk size");
          break;
        }
        case S.SizeBws:
          if (c === SEMI) state = S.Ext;
          else if (c !== SP && c !== HTAB) this.fail("whitespace after a chunk size");
          else if (++this.lineBytes > MAX_SIZE_LINE) this.fail("chunk size line too long");
          break;
        case S.Ext:
          if (c === CR) state = S.SizeLf;
          else if (VALUE_CHAR[c] !== 1) this.fail("invalid character in a chunk extension");
          else if (++this.lineBytes > MAX_SIZE_LINE) this.fail("chunk size line too long");
          break;
        case S.SizeLf:
          if (c !== LF) this.fail("chunk size line not ended by CRLF");
          if (this.remaining === 0) {
            this.lineBytes = 0;
            state = S.TrailerStart;
          } else state = S.Data;
          break;
        case S.DataCr:
          if (c !== CR) this.fail("chunk data longer than its size");
          state = S.DataLf;
          break;
        case S.DataLf:
          if (c !== LF) this.fail("chunk data not followed by CRLF");
          state = S.SizeFirst;
          break;
        case S.TrailerStart:
          if (c === CR) state = S.FinalLf;
          else if (TCHAR[c] === 1) state = S.TrailerName;
          else
            this.fail(c === SP || c === HTAB ? "obsolete line folding in trailers" : "invalid trailer field");
          if (++this.lineBytes > MAX_TRAILERS) this.fail("trailer section too large");
          break;
        case S.TrailerName:
          if (c === COLON) state = S.TrailerValue;
          else if (TCHAR[c] !== 1) this.fail("invalid trailer field name");
          if (++this.lineBytes > MAX_TRAILERS) this.fail("trailer section too large");
          break;
        case S.TrailerValue:
          if (c === CR) state = S.TrailerLf;
          else if (VALUE_CHAR[c] !== 1) this.fail("invalid character in a trailer field");
          if (++this.lineBytes > MAX_TRAILERS) this.fail("trailer section too large");
          break;
        case S.TrailerLf:
          if (c !== LF) this.fail("trailer field not ended by CRLF");
          state = S.TrailerStart;
          break;
        case S.FinalLf:
          if (c !== LF) this.fail("chunked body not ended by CRLF");
          this.state = S.Done;
          return pos;
        default:
          this.fail("chunked decoder in an impossible state");
      }
    }
    this.state = state;
    return -1;
  }
}
