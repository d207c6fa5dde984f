// The response side of a proxied HTTP/1.1 connection: reads the upstream's response head (interim
// 1xx passed on, 101 turns the connection into a tunnel), relays it with hop-by-hop fields handled
// (or the upstream's bytes unchanged when nothing needs to change) and the body as it comes with
// back-pressure, then hands the upstream connection back to the pool (or retires it). A request on a
// pooled connection that turns out dead (reset, EOF, keep-alive timeout) before any response byte is
// retried once on a fresh connection when that is safe (retryable() below).
import { errorKind, errorMessage } from "./dial-errors.ts";
import { COALESCE, ConnectionBase, P_READAHEAD, P_UPSTREAM, Res, St } from "./http-connection-base.ts";
import { forwardResponseHead, responseHeadUnchanged } from "./http-head-writer.ts";
import { findHeadEnd, type RequestHead } from "./http-parser.ts";
import { parseResponseHead, type ResponseHead, responseFraming } from "./http-response-parser.ts";
import type { DialDecision } from "./http-types.ts";
import { asBuffer } from "./read-buffer.ts";
import type { UpstreamConn, UpstreamOwner } from "./upstream-pool.ts";

/** Methods a proxy may resend on a fresh connection (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * Whether a request whose pooled connection died before any response byte may be sent again (pure).
 * Only what was sent can be sent again: the head and the body bytes coalesced into it, nothing
 * streamed after it. Then: an idempotent method, or a request with a body of which no byte was sent
 * yet (the upstream cannot have acted on a request it has not received whole). A request without a
 * body of another method (POST, PATCH) was complete, so it is not retried.
 */
export function retryable(method: string, hasBody: boolean, headBody: number, bodyOut: number): boolean {
  if (bodyOut > 0) return false;
  return IDEMPOTENT.has(method) || (hasBody && headBody === 0);
}

export abstract class ResponseRelay extends ConnectionBase implements UpstreamOwner {
  upstreamData(chunk: Uint8Array): void {
    if (this.state === St.Tunnel) {
      this.writeClient(chunk);
      return;
    }
    if (this.state !== St.Forwarding) return;
    if (this.res === Res.Body) {
      const buf = asBuffer(chunk);
      let end: number;
      try {
        end = this.resBody.feed(buf, 0, buf.byteLength);
      } catch (error) {
        this.failExchange("reset", errorMessage(error));
        return;
      }
      if (end < 0) {
        this.writeClient(buf);
        return;
      }
      if (end > 0) this.writeClient(buf.subarray(0, end));
      if (end < buf.byteLength) this.upReusable = false;
      this.responseComplete();
      return;
    }
    if (this.res === Res.Head) {
      this.ab.append(chunk);
      this.readResponseHead();
    } else this.upReusable = false; // bytes after a complete response: out of step
  }

  protected readResponseHead(): void {
    const ab = this.ab;
    const req = this.req as RequestHead;
    const { limits } = this.ctx;
    for (;;) {
      let head: ResponseHead;
      let headEnd: number;
      try {
        headEnd = findHeadEnd(ab.buf, ab.start, ab.end, limits, ab.start + this.abScanned, 502);
        if (headEnd < 0) {
          this.abScanned = ab.length;
          return;
        }
        head = parseResponseHead(ab.buf, ab.start, headEnd, limits);
      } catch (error) {
        this.failExchange("reset", `malformed response: ${errorMessage(error)}`);
        return;
      }
      this.abScanned = 0;
      if (this.latencyMs < 0) this.latencyMs = this.elapsed();
      this.deadline = 0;
      if (head.status < 200) {
        if (head.status === 101) {
          if (req.upgrade === null)
            this.failExchange("reset", "101 Switching Protocols without an upgrade request");
          else this.switchProtocols(head, headEnd);
          return;
        }
        // Interim (100 Continue, 103 Early Hints): passed on to HTTP/1.1 clients as received.
        if (req.minor === 1) this.writeClient(ab.buf.subarray(ab.start, headEnd));
        ab.start = headEnd;
        if (ab.length === 0) {
          ab.clear();
          return;
        }
        continue;
      }
      this.relayResponseHead(head, headEnd);
      return;
    }
  }

  protected relayResponseHead(head: ResponseHead, headEnd: number): void {
    const ab = this.ab;
    const req = this.req as RequestHead;
    let end: number;
    try {
      const framing = responseFraming(head, req.method);
      this.resBody.reset(framing, 502);
      end = this.resBody.feed(ab.buf, headEnd, ab.end);
      this.closeAfter ||= !req.keepAlive || !this.reqDone || this.clientEnded || framing.kind === "close";
      this.upReusable &&= head.keepAlive && framing.kind !== "close";
    } catch (error) {
      this.failExchange("reset", `malformed response: ${errorMessage(error)}`);
      return;
    }
    this.resStatus = head.status;
    const stop = end < 0 ? ab.end : end;
    const rewrite = this.responseRewrite;
    rewrite.close = this.closeAfter;
    rewrite.clientMinor = req.minor;
    rewrite.upgrade = false;
    rewrite.upstreamLabel = (this.decision as DialDecision).upstreamLabel;
    this.responseStarted = true;
    this.res = Res.Body;
    if (responseHeadUnchanged(head, rewrite))
      // the upstream's bytes as they are (usually the whole chunk it sent; no view made then:
      // Buffer.subarray is not cheap in a per-request path)
      this.writeClient(
        ab.start === 0 && stop === ab.buf.byteLength ? ab.buf : ab.buf.subarray(ab.start, stop),
      );
    else {
      const body = stop > headEnd ? ab.buf.subarray(headEnd, stop) : undefined;
      const coalesce = body !== undefined && body.byteLength <= COALESCE;
      this.writeClient(forwardResponseHead(head, rewrite, coalesce ? body : undefined) as Buffer);
      if (body !== undefined && !coalesce) this.writeClient(body);
    }
    if (end >= 0 && end < ab.end) this.upReusable = false;
    ab.clear();
    if (this.resBody.done) this.responseComplete();
  }

  protected responseComplete(): void {
    this.res = Res.Done;
    if (this.reqDone) {
      this.finishExchange();
      return;
    }
    // The upstream answered before the request was complete (we said Connection: close).
    this.retireUp();
    this.report({ ok: true, status: this.resStatus, latencyMs: this.latencyMs });
    this.closeGracefully();
  }

  protected finishExchange(): void {
    this.report({ ok: true, status: this.resStatus, latencyMs: this.latencyMs });
    const conn = this.up;
    this.up = null;
    if (conn !== null) {
      if (this.upPaused) conn.duplex.resume();
      this.upPaused = false;
      if (this.upReusable && !this.upEnded && !conn.closed) this.ctx.pool.release(conn);
      else conn.retire();
    }
    this.endExchange(this.closeAfter);
  }

  upstreamDrain(): void {
    if (this.state === St.Forwarding || this.state === St.Tunnel) this.resumeClient(P_UPSTREAM);
  }

  upstreamEnd(): void {
    this.upEnded = true;
    if (this.state === St.Tunnel) {
      this.inbound.end();
      return;
    }
    if (this.state !== St.Forwarding) return;
    if (this.res === Res.Body && this.resBody.closeDelimited) {
      this.resBody.eof();
      this.responseComplete();
    } else if (this.res !== Res.Done) this.upstreamBroke("upstream closed the connection");
  }

  upstreamClose(error?: Error): void {
    this.upEnded = true;
    if (this.state === St.Tunnel) {
      this.up = null;
      if (error !== undefined) {
        this.report({ ok: false, status: this.resStatus, error: "reset", latencyMs: this.latencyMs });
        this.inbound.destroy(error);
      } else this.inbound.end();
      return;
    }
    if (this.state !== St.Forwarding) return;
    if (error === undefined && this.res === Res.Body && this.resBody.closeDelimited) {
      this.resBody.eof();
      this.responseComplete();
    } else if (this.res !== Res.Done)
      this.upstreamBroke(error?.message ?? "upstream closed the connection", error);
  }

  /** The upstream connection broke mid-exchange: retry once on a fresh one when that is safe. */
  protected upstreamBroke(message: string, error?: Error): void {
    const conn = this.up as UpstreamConn;
    const req = this.req as RequestHead;
    this.up = null;
    conn.retire();
    const untouched = this.res === Res.Head && this.ab.length === 0 && this.latencyMs < 0;
    if (
      untouched &&
      conn.reused &&
      !this.retried &&
      this.sentHead !== null &&
      retryable(req.method, req.body.kind !== "none", this.headBody, this.bodyOut)
    ) {
      this.retried = true;
      this.dial(conn.key);
      return;
    }
    this.failExchange(
      error === undefined ? "reset" : errorKind(error) === "timeout" ? "timeout" : "reset",
      message,
    );
  }

  protected openTunnel(status: number, head: Uint8Array): void {
    this.state = St.Tunnel;
    this.deadline = 0;
    this.resStatus = status;
    if (this.latencyMs < 0) this.latencyMs = this.elapsed();
    this.writeClient(head);
    const rest = this.rb.takeAll();
    if (rest.byteLength > 0) this.writeUp(rest);
    this.resumeClient(P_READAHEAD);
    if (this.clientEnded) this.up?.duplex.end();
  }

  protected switchProtocols(head: ResponseHead, headEnd: number): void {
    const ab = this.ab;
    const rewrite = {
      close: false,
      clientMinor: 1 as const,
      upgrade: true,
      upstreamLabel: this.decision?.upstreamLabel,
    };
    const out = forwardResponseHead(head, rewrite) ?? ab.buf.subarray(ab.start, headEnd);
    const after = ab.buf.subarray(headEnd, ab.end);
    ab.clear();
    this.openTunnel(101, out);
    if (after.byteLength > 0) this.writeClient(after);
  }
}
