// One inbound HTTP/1.1 connection of the proxy: reads a request head, asks route(), forwards the request
// (head rewritten, body streamed with back-pressure) on a pooled upstream connection, and starts over
// with the next request once the response was relayed (http-response-relay.ts): keep-alive; pipelined
// requests wait in the read buffer, one exchange at a time. CONNECT and a 101 Switching Protocols turn
// the connection into a raw two-way splice. Anything malformed ends with 400/431 and Connection:
// close; upstream failures with 502/504 (or a cut connection once the response has begun, so that a
// truncated response never looks whole).
import { errorKind, errorMessage } from "./dial-errors.ts";
import { COALESCE, P_UPSTREAM, Res, St } from "./http-connection-base.ts";
import { CONNECT_ESTABLISHED, errorResponse, forwardRequestHead, localResponse } from "./http-head-writer.ts";
import {
  findHeadEnd,
  HttpParseError,
  parseRequestHead,
  type RequestHead,
  skipLeadingCrlf,
} from "./http-parser.ts";
import { ResponseRelay } from "./http-response-relay.ts";
import type { DialDecision, Expirable, RouteDecision } from "./http-types.ts";
import { asBuffer } from "./read-buffer.ts";
import { targetKey, type UpstreamConn } from "./upstream-pool.ts";

/** feedBody's answer for a malformed request body. */
const BODY_ERROR = -2;

export class ClientConnection extends ResponseRelay implements Expirable {
  start(): void {
    const inbound = this.inbound;
    inbound.onData((chunk) => this.clientData(chunk));
    inbound.onDrain(() => this.clientDrain());
    inbound.onEnd(() => this.clientEnd());
    inbound.onClose((error) => this.clientClose(error));
    this.deadline = Date.now() + this.ctx.timeouts.headMs;
  }

  protected clientData(chunk: Uint8Array): void {
    switch (this.state) {
      case St.Head:
        this.rb.append(chunk);
        this.drive();
        return;
      case St.Forwarding:
        if (!this.reqDone && this.rb.length === 0) this.forwardBody(asBuffer(chunk));
        else {
          this.rb.append(chunk);
          if (!this.reqDone) this.pumpBody();
          else this.checkReadAhead();
        }
        return;
      case St.Tunnel:
        if (this.up !== null) this.writeUp(chunk);
        return;
      case St.Routing:
      case St.Dialing:
        this.rb.append(chunk);
        this.checkReadAhead();
        return;
      default:
      // Closing: read and discard, so that our last response is not lost to a reset
    }
  }

  protected clientDrain(): void {
    if (this.upPaused && this.up !== null) {
      this.upPaused = false;
      this.up.duplex.resume();
    }
  }

  protected clientEnd(): void {
    this.clientEnded = true;
    switch (this.state) {
      case St.Head:
        this.closeGracefully();
        return;
      case St.Forwarding:
        if (!this.reqDone) this.abortExchange("client closed before the request was complete");
        else this.closeAfter = true;
        return;
      case St.Tunnel:
        this.up?.duplex.end();
        return;
      case St.Routing:
      case St.Dialing:
        this.closeAfter = true;
        return;
      default:
    }
  }

  protected clientClose(error?: Error): void {
    const tunnel = this.state === St.Tunnel;
    this.state = St.Closed;
    this.deadline = 0;
    this.ctx.connections.delete(this);
    const up = this.up;
    this.up = null;
    if (up !== null) {
      if (tunnel && error === undefined && !up.closed) {
        up.owner = null;
        up.duplex.end();
      } else up.retire(error);
    }
    if (tunnel) this.report({ ok: true, status: this.resStatus, latencyMs: this.latencyMs });
    else this.report({ ok: false, latencyMs: this.elapsed() });
    this.rb.clear();
    this.ab.clear();
  }

  expire(): void {
    this.deadline = 0;
    switch (this.state) {
      case St.Head:
        if (this.rb.length === 0) this.closeGracefully();
        else this.badRequest(new HttpParseError(408, "request head not complete in time"));
        return;
      case St.Forwarding:
        if (this.res === Res.Head) this.failExchange("timeout", "upstream did not answer in time");
        return;
      case St.Closing:
        this.inbound.destroy();
        return;
      default:
    }
  }

  /** Reads as many requests from the read buffer as can be handled now. */
  protected drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      this.readRequests();
    } finally {
      this.driving = false;
    }
  }

  protected readRequests(): void {
    const rb = this.rb;
    const { limits } = this.ctx;
    while (this.state === St.Head) {
      if (rb.length > 0 && this.scanned === 0) rb.start = skipLeadingCrlf(rb.buf, rb.start, rb.end);
      if (rb.length === 0) {
        rb.clear();
        this.scanned = 0;
        this.deadline = Date.now() + this.ctx.timeouts.keepAliveMs;
        return;
      }
      let req: RequestHead;
      try {
        const headEnd = findHeadEnd(rb.buf, rb.start, rb.end, limits, rb.start + this.scanned);
        if (headEnd < 0) {
          if (this.scanned === 0) this.deadline = Date.now() + this.ctx.timeouts.headMs;
          this.scanned = rb.length;
          return;
        }
        req = parseRequestHead(rb.buf, rb.start, headEnd, limits);
        rb.start = headEnd;
      } catch (error) {
        this.badRequest(error);
        return;
      }
      this.scanned = 0;
      this.deadline = 0;
      this.ctx.stats.requests++;
      this.req = req;
      this.reqDone = req.body.kind === "none";
      this.reqBody.reset(req.body, 400);
      this.state = St.Routing;
      let decision: RouteDecision | Promise<RouteDecision>;
      try {
        decision = this.ctx.route(req, this.info);
      } catch (error) {
        this.routeFailed(error);
        return;
      }
      if (decision instanceof Promise) {
        decision.then(
          (d) => {
            this.decide(d);
            this.drive();
          },
          (error) => this.routeFailed(error),
        );
        return;
      }
      this.decide(decision);
    }
  }

  protected decide(decision: RouteDecision): void {
    if (this.state !== St.Routing) return;
    const req = this.req as RequestHead;
    if (decision.kind === "respond") {
      const close = this.mustCloseAfterLocalAnswer();
      const headers = decision.headers ?? {};
      const body = decision.body ?? "";
      this.inbound.write(
        localResponse(decision.status, headers, body, { close, head: req.method === "HEAD" }),
      );
      this.endExchange(close);
      return;
    }
    this.decision = decision;
    this.reported = false;
    this.t0 = performance.now();
    this.latencyMs = -1;
    this.retried = false;
    const key = targetKey(decision.target);
    const pooled = req.method === "CONNECT" ? null : this.ctx.pool.take(key);
    if (pooled !== null) this.attachUpstream(pooled);
    else this.dial(key);
  }

  protected dial(key: string): void {
    this.state = St.Dialing;
    const target = (this.decision as DialDecision).target;
    this.ctx.pool.dial(target, key).then(
      (conn) => {
        if (this.state !== St.Dialing) conn.retire();
        else this.attachUpstream(conn);
      },
      (error) => {
        if (this.state === St.Dialing) this.failExchange(errorKind(error), errorMessage(error));
      },
    );
  }

  protected attachUpstream(conn: UpstreamConn): void {
    const req = this.req as RequestHead;
    const decision = this.decision as DialDecision;
    this.up = conn;
    conn.owner = this;
    this.state = St.Forwarding;
    this.res = Res.Head;
    this.responseStarted = false;
    this.upReusable = true;
    this.upEnded = false;
    this.upPaused = false;
    if (req.method === "CONNECT") {
      this.openTunnel(200, CONNECT_ESTABLISHED);
      return;
    }
    if (this.retried && this.sentHead !== null) {
      this.replayRequest(this.sentHead);
      return;
    }
    let first: Buffer | undefined;
    const rb = this.rb;
    if (!this.reqDone && rb.length > 0) {
      const end = this.feedBody(rb.buf, rb.start, rb.end);
      if (end === BODY_ERROR) return;
      const stop = end < 0 ? rb.end : end;
      first = rb.buf.subarray(rb.start, stop);
      rb.start = stop;
      if (end >= 0) this.reqDone = true;
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
    // The answer is due once the request is sent (or at once when the client waits for 100 Continue).
    if (this.reqDone || req.expectContinue) this.deadline = Date.now() + this.ctx.timeouts.responseMs;
    this.writeUp(head);
    if (first !== undefined && !coalesced) {
      this.bodyOut += first.byteLength;
      this.writeUp(first);
    }
    if (!this.reqDone && this.clientEnded)
      this.abortExchange("client closed before the request was complete");
    else this.checkReadAhead();
  }

  /**
   * A retry on a fresh connection (http-response-relay.ts decided it is safe): the head as sent
   * before, then the body from where the client is (none of it had been sent beyond the head).
   */
  protected replayRequest(head: Buffer): void {
    const req = this.req as RequestHead;
    // Writing to the dead connection may have paused the client; this connection's queue is empty.
    this.resumeClient(P_UPSTREAM);
    if (this.reqDone || req.expectContinue) this.deadline = Date.now() + this.ctx.timeouts.responseMs;
    this.writeUp(head);
    if (this.reqDone) this.checkReadAhead();
    else if (this.rb.length > 0) this.pumpBody();
    else if (this.clientEnded) this.abortExchange("client closed before the request was complete");
  }

  /** Request body bytes that arrived while forwarding (no copy). */
  protected forwardBody(buf: Buffer): void {
    const end = this.feedBody(buf, 0, buf.byteLength);
    if (end === BODY_ERROR) return;
    if (end < 0) {
      this.bodyOut += buf.byteLength;
      this.writeUp(buf);
      return;
    }
    this.bodyOut += end;
    if (end > 0) this.writeUp(buf.subarray(0, end));
    if (end < buf.byteLength) this.rb.append(buf.subarray(end));
    this.requestSent();
  }

  /** Request body bytes from the read buffer. */
  protected pumpBody(): void {
    const rb = this.rb;
    const end = this.feedBody(rb.buf, rb.start, rb.end);
    if (end === BODY_ERROR) return;
    const stop = end < 0 ? rb.end : end;
    if (stop > rb.start) {
      this.bodyOut += stop - rb.start;
      this.writeUp(rb.buf.subarray(rb.start, stop));
    }
    rb.start = stop;
    if (end >= 0) this.requestSent();
    else this.checkReadAhead();
  }

  protected requestSent(): void {
    this.reqDone = true;
    if (this.res === Res.Done) this.finishExchange();
    else {
      if (this.res === Res.Head) this.deadline = Date.now() + this.ctx.timeouts.responseMs;
      this.checkReadAhead();
    }
  }

  /**
   * The request body decoder's feed (-1: all of it is body, more to come; else where the body ends),
   * or BODY_ERROR once a malformed body was dealt with (the exchange is over).
   */
  private feedBody(buf: Uint8Array, start: number, end: number): number {
    try {
      return this.reqBody.feed(buf, start, end);
    } catch (error) {
      this.requestBodyError(error);
      return BODY_ERROR;
    }
  }

  private requestBodyError(error: unknown): void {
    this.retireUp();
    this.report({ ok: false, latencyMs: this.elapsed() });
    if (this.responseStarted) this.inbound.destroy(new Error(errorMessage(error)));
    else this.badRequest(error);
  }

  protected abortExchange(message: string): void {
    this.retireUp();
    this.report({ ok: false, latencyMs: this.elapsed() });
    this.inbound.destroy(new Error(message));
  }

  protected routeFailed(error: unknown): void {
    if (this.state !== St.Routing) return;
    this.ctx.onEvent({ kind: "route-error", message: errorMessage(error) });
    this.inbound.write(errorResponse(500, "route-error", "no route decision", {}, { close: true }));
    this.closeGracefully();
  }
}
