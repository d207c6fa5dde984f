// Sends a client connection's current request upstream (one per client connection, one request at a
// time): the head as rewritten (http-head-writer.ts), with the first body bytes in the same write when
// they are few, then the body as the client sends it, cut exactly where the client's parser says it
// ends, so that bytes after it are never sent as part of it. It remembers what it sent (from one
// sendHead to the next): a request whose pooled connection turned out dead is sent again only when
// that is safe (retry-policy.ts).
import { forwardRequestHead, type RequestRewrite } from "./http-head-writer.ts";
import type { RequestHead } from "./http-parser.ts";
import type { ConnectionInfo, DialDecision } from "./http-types.ts";
import type { RequestReader } from "./request-reader.ts";
import { retryable } from "./retry-policy.ts";
import type { UpstreamLink } from "./upstream-link.ts";

/** Body bytes up to this size travel in the same write as the head. */
export const COALESCE = 16 * 1024;

export class RequestSender {
  /** How requests are rewritten on this connection (the head writer memoises in it). */
  private readonly rewrite: RequestRewrite;
  /** The request head as sent upstream (with the body bytes coalesced into it), for a retry. */
  private sentHead: Buffer | null = null;
  /** Body bytes that went in sentHead; body bytes written upstream after it. */
  private headBody = 0;
  private bodyOut = 0;
  /** The head was sent again (a request is resent once at most). */
  private resent = false;

  constructor(
    private readonly reader: RequestReader,
    private readonly link: UpstreamLink,
    info: ConnectionInfo,
  ) {
    this.rewrite = { clientAddress: info.remoteAddress, proto: info.proto ?? "http", upgrade: false };
  }

  /**
   * Sends the head, with the body bytes already read (`complete`: the request has no more body
   * to read). Answers whether the whole request is sent now. Throws HttpParseError for a malformed
   * body, before anything is sent.
   */
  sendHead(req: RequestHead, decision: DialDecision, complete: boolean): boolean {
    let first: Buffer | undefined;
    const rb = this.reader.buffer;
    if (!complete && rb.length > 0) {
      const end = this.reader.body.feed(rb.buf, rb.start, rb.end);
      const stop = end < 0 ? rb.end : end;
      first = rb.buf.subarray(rb.start, stop);
      rb.start = stop;
      if (end >= 0) complete = true;
    }
    const rewrite = this.rewrite;
    rewrite.upgrade = req.upgrade !== null;
    rewrite.remove = decision.removeHeaders;
    rewrite.set = decision.setHeaders;
    const coalesced = first !== undefined && first.byteLength <= COALESCE ? first : undefined;
    const head = forwardRequestHead(req, rewrite, coalesced);
    this.sentHead = head;
    this.headBody = coalesced?.byteLength ?? 0;
    this.bodyOut = 0;
    this.resent = false;
    this.link.toUpstream(head);
    if (first !== undefined && !coalesced) {
      this.bodyOut += first.byteLength;
      this.link.toUpstream(first);
    }
    return complete;
  }

  /**
   * Whether the request may be sent again on a fresh connection (its first one died unanswered):
   * once, and only when that is safe.
   */
  mayResend(req: RequestHead): boolean {
    return (
      this.sentHead !== null &&
      !this.resent &&
      retryable(req.method, req.body.kind !== "none", this.headBody, this.bodyOut)
    );
  }

  /** Sends the head again, as it was sent before (with the body bytes that went in it). */
  resendHead(): void {
    this.resent = true;
    this.link.toUpstream(this.sentHead as Buffer);
  }

  /**
   * Body bytes that arrived while forwarding, not buffered (no copy). Answers whether the body is
   * complete (bytes after it wait in the read buffer). Throws HttpParseError for a malformed body.
   */
  forward(buf: Buffer): boolean {
    const end = this.reader.body.feed(buf, 0, buf.byteLength);
    if (end < 0) {
      this.bodyOut += buf.byteLength;
      this.link.toUpstream(buf);
      return false;
    }
    this.bodyOut += end;
    if (end > 0) this.link.toUpstream(buf.subarray(0, end));
    if (end < buf.byteLength) this.reader.buffer.append(buf.subarray(end));
    return true;
  }

  /** Body bytes from the read buffer; as forward(). */
  pump(): boolean {
    const rb = this.reader.buffer;
    const end = this.reader.body.feed(rb.buf, rb.start, rb.end);
    const stop = end < 0 ? rb.end : end;
    if (stop > rb.start) {
      this.bodyOut += stop - rb.start;
      this.link.toUpstream(rb.buf.subarray(rb.start, stop));
    }
    rb.start = stop;
    return end >= 0;
  }
}
