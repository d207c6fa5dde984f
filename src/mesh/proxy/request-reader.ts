// The client side's parser, one per client connection: the bytes the client sent that nothing has
// consumed yet (a partial head, pipelined requests read ahead, body bytes waiting for the upstream),
// the request heads read out of them, and the current request's body decoder, which alone decides
// where that body ends (http-body.ts). No I/O: the connection (client-connection.ts) feeds it and
// decides what a head or a malformed head means for the socket.
import { BodyReader } from "./http-body.ts";
import {
  findHeadEnd,
  type HeadLimits,
  parseRequestHead,
  type RequestHead,
  skipLeadingCrlf,
} from "./http-parser.ts";
import { ReadBuffer } from "./read-buffer.ts";

/** Why next() found no head. */
export enum Waiting {
  /** Nothing buffered: the connection is idle between requests. */
  Idle,
  /** The first bytes of a head arrived (its timeout starts now). */
  HeadStarted,
  /** More bytes of a head that had already started. */
  HeadContinued,
}

export class RequestReader {
  readonly buffer = new ReadBuffer();
  /** The body decoder of the request last read (reset for each head). */
  readonly body = new BodyReader();
  /** Why the last next() returned null. */
  waiting = Waiting.Idle;
  /** Bytes of the current partial head already searched for its end. */
  private scanned = 0;

  constructor(private readonly limits: HeadLimits) {}

  /**
   * The next request head in the buffer (consumed; its body, if any, follows in the buffer and
   * `body` is set to its framing), or null when there is none yet (see `waiting`). Throws
   * HttpParseError for a malformed head.
   */
  next(): RequestHead | null {
    const rb = this.buffer;
    if (rb.length > 0 && this.scanned === 0) rb.start = skipLeadingCrlf(rb.buf, rb.start, rb.end);
    if (rb.length === 0) {
      rb.clear();
      this.scanned = 0;
      this.waiting = Waiting.Idle;
      return null;
    }
    const headEnd = findHeadEnd(rb.buf, rb.start, rb.end, this.limits, rb.start + this.scanned);
    if (headEnd < 0) {
      this.waiting = this.scanned === 0 ? Waiting.HeadStarted : Waiting.HeadContinued;
      this.scanned = rb.length;
      return null;
    }
    const req = parseRequestHead(rb.buf, rb.start, headEnd, this.limits);
    rb.start = headEnd;
    this.scanned = 0;
    this.body.reset(req.body, 400);
    return req;
  }
}
