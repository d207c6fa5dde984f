// The upstream side's parser, one per upstream connection (it moves with the connection through the
// pool): reads the responses the connection carries and tells the exchange that owns it what it
// found (ResponseHandler): interim 1xx heads, a 101, the final head with the body bytes that came
// with it, more body, the end of the response, or a malformed response. It alone decides where a
// response ends (its framing per RFC 9112 §6.3, the body decoder of http-body.ts) and whether the
// connection can carry another request afterwards. No I/O: the exchange writes to the client.

import { describeError } from "../../runtime/errors.ts";
import { BodyReader } from "./http-body.ts";
import { findHeadEnd, type HeadLimits } from "./http-parser.ts";
import { parseResponseHead, type ResponseHead, responseFraming } from "./http-response-parser.ts";
import { asBuffer, ReadBuffer } from "./read-buffer.ts";

/** What the exchange owning the connection is told about its response. */
export interface ResponseHandler {
  /** An interim response (100 Continue, 103 Early Hints), its bytes as received. */
  responseInterim(bytes: Buffer): void;
  /** 101 Switching Protocols: its head, the head's bytes as received, and the bytes after it. */
  responseSwitch(head: ResponseHead, bytes: Buffer, after: Buffer): void;
  /**
   * The final head, with the reader whose buffer holds it as received (from `buffer.start` to
   * `headEnd`) and the body bytes that came with it (to `bodyEnd`); `closeDelimited`: the body
   * ends when the upstream closes.
   */
  responseHead(head: ResponseHead, reader: ResponseReader, closeDelimited: boolean): void;
  /** More body bytes. */
  responseBody(chunk: Buffer): void;
  /** The response is complete. */
  responseComplete(): void;
  /** The response is malformed (the connection is useless now). */
  responseError(message: string): void;
}

enum Phase {
  Head,
  Body,
  Done,
}

export class ResponseReader {
  readonly buffer = new ReadBuffer();
  private readonly body = new BodyReader();
  private phase = Phase.Head;
  /** The request's method (HEAD and CONNECT responses have no body). */
  private method = "GET";
  /** Bytes of the current partial head already searched for its end. */
  private scanned = 0;
  /** The connection may carry another request after this response. */
  reusable = true;
  /** Where the final head ends in `buffer.buf` (it starts at `buffer.start`), and its body bytes. */
  headEnd = 0;
  bodyEnd = 0;

  /** A request was sent on the connection: its response starts here. */
  begin(method: string): void {
    this.buffer.clear();
    this.scanned = 0;
    this.phase = Phase.Head;
    this.method = method;
    this.reusable = true;
  }

  /** Bytes from the upstream. */
  feed(chunk: Uint8Array, handler: ResponseHandler, limits: HeadLimits): void {
    if (this.phase === Phase.Body) {
      const buf = asBuffer(chunk);
      let end: number;
      try {
        end = this.body.feed(buf, 0, buf.byteLength);
      } catch (error) {
        handler.responseError(describeError(error));
        return;
      }
      if (end < 0) {
        handler.responseBody(buf);
        return;
      }
      if (end > 0) handler.responseBody(buf.subarray(0, end));
      if (end < buf.byteLength) this.reusable = false;
      this.phase = Phase.Done;
      handler.responseComplete();
      return;
    }
    if (this.phase === Phase.Head) {
      this.buffer.append(chunk);
      this.readHeads(handler, limits);
    } else this.reusable = false; // bytes after a complete response: out of step
  }

  /**
   * The upstream closed (or sent FIN): true when that completes a response whose body ends there.
   */
  endsAtClose(): boolean {
    if (this.phase !== Phase.Body || !this.body.closeDelimited) return false;
    this.body.eof();
    this.phase = Phase.Done;
    return true;
  }

  private readHeads(handler: ResponseHandler, limits: HeadLimits): void {
    const ab = this.buffer;
    for (;;) {
      let head: ResponseHead;
      let headEnd: number;
      try {
        headEnd = findHeadEnd(ab.buf, ab.start, ab.end, limits, ab.start + this.scanned, 502);
        if (headEnd < 0) {
          this.scanned = ab.length;
          return;
        }
        head = parseResponseHead(ab.buf, ab.start, headEnd, limits);
      } catch (error) {
        handler.responseError(`malformed response: ${describeError(error)}`);
        return;
      }
      this.scanned = 0;
      if (head.status >= 200) {
        this.finalHead(head, headEnd, handler);
        return;
      }
      if (head.status === 101) {
        const bytes = ab.buf.subarray(ab.start, headEnd);
        const after = ab.buf.subarray(headEnd, ab.end);
        ab.clear();
        handler.responseSwitch(head, bytes, after);
        return;
      }
      handler.responseInterim(ab.buf.subarray(ab.start, headEnd));
      ab.start = headEnd;
      if (ab.length === 0) {
        ab.clear();
        return;
      }
    }
  }

  private finalHead(head: ResponseHead, headEnd: number, handler: ResponseHandler): void {
    const ab = this.buffer;
    let end: number;
    let closeDelimited: boolean;
    try {
      const framing = responseFraming(head, this.method);
      this.body.reset(framing, 502);
      end = this.body.feed(ab.buf, headEnd, ab.end);
      closeDelimited = framing.kind === "close";
      this.reusable &&= head.keepAlive && !closeDelimited;
    } catch (error) {
      handler.responseError(`malformed response: ${describeError(error)}`);
      return;
    }
    this.phase = Phase.Body;
    this.headEnd = headEnd;
    this.bodyEnd = end < 0 ? ab.end : end;
    handler.responseHead(head, this, closeDelimited);
    if (end >= 0 && end < ab.end) this.reusable = false;
    ab.clear();
    if (this.body.done) {
      this.phase = Phase.Done;
      handler.responseComplete();
    }
  }
}
