// One inbound HTTP/1.1 connection of the proxy: reads a request head, asks route(), forwards the request
// (head rewritten, body streamed with back-pressure) on a pooled upstream connection, relays the
// response, and starts over with the next request (keep-alive; pipelined requests wait in the read
// buffer, one exchange at a time). CONNECT and a 101 Switching Protocols turn the connection into a raw
// two-way splice. Anything malformed ends with 400/431 and Connection: close; upstream failures with
// 502/504 (or a cut connection once the response has begun, so a truncated response never looks whole).

import type { Duplex } from "../contracts.ts";
import { errorKind, errorMessage, type ProxyOutcome, type UpstreamErrorKind } from "./dial-errors.ts";
import { BodyReader } from "./http-body.ts";
import {
  CONNECT_ESTABLISHED,
  errorResponse,
  forwardRequestHead,
  forwardResponseHead,
  localResponse,
  type RequestRewrite,
} from "./http-head-writer.ts";
import {
  findHeadEnd,
  HttpParseError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
  responseFraming,
  skipLeadingCrlf,
} from "./http-parser.ts";
import type { ConnectionInfo, DialDecision, Expirable, ProxyContext, RouteDecision } from "./http-types.ts";
import { asBuffer, ReadBuffer } from "./read-buffer.ts";
import { targetKey, type UpstreamConn, type UpstreamOwner } from "./upstream-pool.ts";

enum St {
  Head,
  Routing,
  Dialing,
  Forwarding,
  Tunnel,
  Closing,
  Closed,
}
enum Res {
  Head,
  Body,
  Done,
}
/** Why the client is paused (bits). */
const P_UPSTREAM = 1;
const P_READAHEAD = 2;
/** Body bytes up to this size travel in the same write as the head. */
const COALESCE = 16 * 1024;
/** Methods a proxy may resend on a fresh connection (RFC 9110 §9.2.2), when they carry no body. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export class ClientConnection implements UpstreamOwner, Expirable {
  deadline = 0;
  private state = St.Head;
  private readonly rb = new ReadBuffer();
  /** Bytes of the current partial head already searched for its end. */
  private scanned = 0;
  private pauseBits = 0;
  private clientEnded = false;
  /** drive() is on the stack (a nested call returns; the outer loop goes on). */
  private driving = false;
  // the current exchange
  private req: RequestHead | null = null;
  private decision: DialDecision | null = null;
  private reported = false;
  private readonly reqBody = new BodyReader();
  private reqDone = false;
  private up: UpstreamConn | null = null;
  private upPaused = false;
  private upReusable = true;
  private upEnded = false;
  private res = Res.Head;
  private readonly ab = new ReadBuffer();
  private abScanned = 0;
  private resStatus = 0;
  private readonly resBody = new BodyReader();
  private responseStarted = false;
  private closeAfter = false;
  private retried = false;
  private t0 = 0;
  private latencyMs = -1;

  /** How requests are rewritten on this connection (the writer memoises in it). */
  private readonly rewrite: RequestRewrite;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly inbound: Duplex,
    private readonly info: ConnectionInfo,
  ) {
    this.rewrite = { clientAddress: info.remoteAddress, proto: info.proto ?? "http", upgrade: false };
  }

  start(): void {
    const inbound = this.inbound;
    inbound.onData((chunk) => this.clientData(chunk));
    inbound.onDrain(() => this.clientDrain());
    inbound.onEnd(() => this.clientEnd());
    inbound.onClose((error) => this.clientClose(error));
    this.deadline = Date.now() + this.ctx.timeouts.headMs;
  }

  destroy(): void {
    this.inbound.destroy();
  }

  // --- client side ---

  private clientData(chunk: Uint8Array): void {
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

  private clientDrain(): void {
    if (this.upPaused && this.up !== null) {
      this.upPaused = false;
      this.up.duplex.resume();
    }
  }

  private clientEnd(): void {
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

  private clientClose(error?: Error): void {
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

  expire(now: number): void {
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
        void now;
    }
  }

  /** Reads as many requests from the read buffer as can be handled now. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      this.readRequests();
    } finally {
      this.driving = false;
    }
  }

  private readRequests(): void {
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

  private decide(decision: RouteDecision): void {
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

  private dial(key: string): void {
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

  /** A request whose answer is ours (route's, or an error) and that may carry a body: close after. */
  private mustCloseAfterLocalAnswer(): boolean {
    const req = this.req as RequestHead;
    return (
      req.body.kind !== "none" ||
      !req.keepAlive ||
      this.clientEnded ||
      this.closeAfter ||
      req.method === "CONNECT"
    );
  }

  private attachUpstream(conn: UpstreamConn): void {
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
    let first: Buffer | undefined;
    const rb = this.rb;
    if (!this.reqDone && rb.length > 0) {
      let end: number;
      try {
        end = this.reqBody.feed(rb.buf, rb.start, rb.end);
      } catch (error) {
        this.requestBodyError(error);
        return;
      }
      const stop = end < 0 ? rb.end : end;
      first = rb.buf.subarray(rb.start, stop);
      rb.start = stop;
      if (end >= 0) this.reqDone = true;
    }
    const rewrite = this.rewrite;
    rewrite.upgrade = req.upgrade !== null;
    rewrite.remove = decision.removeHeaders;
    rewrite.set = decision.setHeaders;
    const head = forwardRequestHead(
      req,
      rewrite,
      first !== undefined && first.byteLength <= COALESCE ? first : undefined,
    );
    if (this.reqDone) this.deadline = Date.now() + this.ctx.timeouts.responseMs;
    this.writeUp(head);
    if (first !== undefined && first.byteLength > COALESCE) this.writeUp(first);
    if (!this.reqDone && this.clientEnded)
      this.abortExchange("client closed before the request was complete");
    else this.checkReadAhead();
  }

  /** Request body bytes that arrived while forwarding (no copy). */
  private forwardBody(buf: Buffer): void {
    let end: number;
    try {
      end = this.reqBody.feed(buf, 0, buf.byteLength);
    } catch (error) {
      this.requestBodyError(error);
      return;
    }
    if (end < 0) {
      this.writeUp(buf);
      return;
    }
    if (end > 0) this.writeUp(buf.subarray(0, end));
    if (end < buf.byteLength) this.rb.append(buf.subarray(end));
    this.requestSent();
  }

  /** Request body bytes from the read buffer. */
  private pumpBody(): void {
    const rb = this.rb;
    let end: number;
    try {
      end = this.reqBody.feed(rb.buf, rb.start, rb.end);
    } catch (error) {
      this.requestBodyError(error);
      return;
    }
    const stop = end < 0 ? rb.end : end;
    if (stop > rb.start) this.writeUp(rb.buf.subarray(rb.start, stop));
    rb.start = stop;
    if (end >= 0) this.requestSent();
    else this.checkReadAhead();
  }

  private requestSent(): void {
    this.reqDone = true;
    if (this.res === Res.Done) this.finishExchange();
    else {
      if (this.res === Res.Head) this.deadline = Date.now() + this.ctx.timeouts.responseMs;
      this.checkReadAhead();
    }
  }

  /** Pauses the client while too much is read ahead, resumes it once that was consumed. */
  private checkReadAhead(): void {
    if (this.rb.length > this.ctx.readAheadBytes) this.pauseClient(P_READAHEAD);
    else if ((this.pauseBits & P_READAHEAD) !== 0) this.resumeClient(P_READAHEAD);
  }

  private writeUp(chunk: Uint8Array): void {
    if (!(this.up as UpstreamConn).duplex.write(chunk)) this.pauseClient(P_UPSTREAM);
  }

  private writeClient(chunk: Uint8Array): void {
    if (!this.inbound.write(chunk) && this.up !== null && !this.upPaused) {
      this.upPaused = true;
      this.up.duplex.pause();
    }
  }

  private pauseClient(bit: number): void {
    if (this.pauseBits === 0) this.inbound.pause();
    this.pauseBits |= bit;
  }

  private resumeClient(bits: number): void {
    if (this.pauseBits === 0) return;
    this.pauseBits &= ~bits;
    if (this.pauseBits === 0) this.inbound.resume();
  }

  // --- upstream side (UpstreamOwner) ---

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

  private readResponseHead(): void {
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

  private relayResponseHead(head: ResponseHead, headEnd: number): void {
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
    const body = stop > headEnd ? ab.buf.subarray(headEnd, stop) : undefined;
    const rewrite = {
      close: this.closeAfter,
      clientMinor: req.minor,
      upgrade: false,
      upstreamLabel: (this.decision as DialDecision).upstreamLabel,
    };
    const out = forwardResponseHead(
      head,
      rewrite,
      body !== undefined && body.byteLength <= COALESCE ? body : undefined,
    );
    this.responseStarted = true;
    this.res = Res.Body;
    if (out === null)
      // the upstream's bytes as they are (usually the whole chunk it sent)
      this.writeClient(
        ab.start === 0 && stop === ab.buf.byteLength ? ab.buf : ab.buf.subarray(ab.start, stop),
      );
    else {
      this.writeClient(out);
      if (body !== undefined && body.byteLength > COALESCE) this.writeClient(body);
    }
    if (end >= 0 && end < ab.end) this.upReusable = false;
    ab.clear();
    if (this.resBody.done) this.responseComplete();
  }

  private responseComplete(): void {
    this.res = Res.Done;
    if (this.reqDone) {
      this.finishExchange();
      return;
    }
    // The upstream answered before the request was complete (we said Connection: close).
    this.up?.retire();
    this.up = null;
    this.report({ ok: true, status: this.resStatus, latencyMs: this.latencyMs });
    this.closeGracefully();
  }

  private finishExchange(): void {
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

  /** The exchange is over: next request, or close. */
  private endExchange(close: boolean): void {
    this.req = null;
    this.decision = null;
    this.ab.clear();
    this.abScanned = 0;
    if (close || this.closeAfter) {
      this.closeGracefully();
      return;
    }
    this.state = St.Head;
    this.resumeClient(P_UPSTREAM | P_READAHEAD);
    if (this.state === St.Head) this.drive();
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
  private upstreamBroke(message: string, error?: Error): void {
    const conn = this.up as UpstreamConn;
    const req = this.req as RequestHead;
    this.up = null;
    conn.retire();
    const untouched = this.res === Res.Head && this.ab.length === 0 && this.latencyMs < 0;
    if (untouched && conn.reused && !this.retried && req.body.kind === "none" && IDEMPOTENT.has(req.method)) {
      this.retried = true;
      this.dial(conn.key);
      return;
    }
    this.failExchange(
      error === undefined ? "reset" : errorKind(error) === "timeout" ? "timeout" : "reset",
      message,
    );
  }

  private failExchange(kind: UpstreamErrorKind, message: string): void {
    const req = this.req as RequestHead;
    const decision = this.decision as DialDecision;
    this.ctx.stats.upstreamErrors++;
    this.up?.retire();
    this.up = null;
    this.report({ ok: false, error: kind, latencyMs: this.elapsed() });
    if (this.responseStarted) {
      // The client already has part of a response: only a cut connection tells it it is incomplete.
      this.inbound.destroy(new Error(message));
      return;
    }
    const status = kind === "timeout" ? 504 : 502;
    const target = decision.target;
    const detail: Record<string, string | number> =
      target.kind === "local"
        ? { service: target.service, worker: target.index }
        : { service: target.service, node: target.node };
    this.ctx.onEvent({ kind: "upstream-error", status, error: kind, message, target });
    const close = this.mustCloseAfterLocalAnswer() || !this.reqDone;
    const text =
      kind === "refused" ? `upstream refused the connection (${message})` : `upstream ${kind}: ${message}`;
    this.inbound.write(
      errorResponse(status, `upstream-${kind}`, text, detail, { close, head: req.method === "HEAD" }),
    );
    this.endExchange(close);
  }

  // --- tunnels (CONNECT, Upgrade) ---

  private openTunnel(status: number, head: Uint8Array): void {
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

  private switchProtocols(head: ResponseHead, headEnd: number): void {
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

  // --- endings ---

  private requestBodyError(error: unknown): void {
    this.up?.retire();
    this.up = null;
    this.report({ ok: false, latencyMs: this.elapsed() });
    if (this.responseStarted) this.inbound.destroy(new Error(errorMessage(error)));
    else this.badRequest(error);
  }

  private abortExchange(message: string): void {
    this.up?.retire();
    this.up = null;
    this.report({ ok: false, latencyMs: this.elapsed() });
    this.inbound.destroy(new Error(message));
  }

  private routeFailed(error: unknown): void {
    if (this.state !== St.Routing) return;
    this.ctx.onEvent({ kind: "route-error", message: errorMessage(error) });
    this.inbound.write(errorResponse(500, "route-error", "no route decision", {}, { close: true }));
    this.closeGracefully();
  }

  private badRequest(error: unknown): void {
    const status = error instanceof HttpParseError ? error.status : 400;
    const message = errorMessage(error);
    this.ctx.stats.badRequests++;
    this.ctx.onEvent({ kind: "bad-request", status, message, remoteAddress: this.info.remoteAddress });
    const code = status === 431 ? "head-too-large" : status === 408 ? "head-timeout" : "bad-request";
    this.inbound.write(errorResponse(status, code, message, {}, { close: true }));
    this.closeGracefully();
  }

  /** Sends FIN after what is queued, reads and discards until the client closes (or lingerMs). */
  private closeGracefully(): void {
    if (this.state === St.Closing || this.state === St.Closed) return;
    this.up?.retire();
    this.up = null;
    this.state = St.Closing;
    this.rb.clear();
    this.deadline = Date.now() + this.ctx.timeouts.lingerMs;
    this.inbound.end();
    this.resumeClient(P_UPSTREAM | P_READAHEAD);
  }

  private report(outcome: ProxyOutcome): void {
    const decision = this.decision;
    if (decision === null || this.reported) return;
    this.reported = true;
    try {
      decision.done?.(outcome);
    } catch {
      // the balancer's bookkeeping must not break the data path
    }
  }

  private elapsed(): number {
    return this.t0 === 0 ? 0 : performance.now() - this.t0;
  }
}
