// One request and its response: the exchange a client connection (client-connection.ts) starts for
// every request head, and where that request's state lives. It asks route() where the request goes,
// attaches a pooled or dialed upstream connection, has the request sent (request-sender.ts), relays
// the response as the upstream connection's parser (response-reader.ts) reads it, hands the
// connection back to the pool and reports the outcome to the balancer once. A pooled connection
// that turns out dead before any response byte is replaced once when resending is safe. Failures
// answer 502/504, or cut the client connection once the response has begun (a truncated response
// must never look whole). CONNECT and 101 hand the client connection over to a tunnel (tunnel.ts).
// Asking route() is route-step.ts; the answers the proxy writes itself are local-answers.ts.
//
//   routing ──dial──▶ dialing ──▶ forwarding ──response complete──▶ done
//      │                              │   ▲
//      │                              ▼   │
//      │                           redialing: pooled connection dead, safe to resend (once)
//      └──respond (the route's own answer) ────────────────────────▶ done
//
// Its fields are few on purpose (it is allocated per request): what belongs to the client
// connection stays there (the parser, the senders, the link), what belongs to the upstream
// connection stays with it (its parser, whether it sent FIN), what the request sender knows (what
// was sent, whether it was resent) stays in the sender.

import { describeError } from "../../runtime/errors.ts";
import { type ClientHandler, type ClientSide, P_UPSTREAM } from "./client-side.ts";
import { errorKind, type ProxyOutcome, type UpstreamErrorKind } from "./dial-errors.ts";
import { CONNECT_ESTABLISHED } from "./http-head-writer.ts";
import type { RequestHead } from "./http-parser.ts";
import type { ResponseHead } from "./http-response-parser.ts";
import type { DialDecision, RouteDecision } from "./http-types.ts";
import { answerRoute, answerRouteError, answerUpstreamError, closesAfterAnswer } from "./local-answers.ts";
import { asBuffer } from "./read-buffer.ts";
import type { ResponseHandler, ResponseReader } from "./response-reader.ts";
import { askRoute, type RouteWaiter } from "./route-step.ts";
import { Tunnel } from "./tunnel.ts";
import { targetKey, type UpstreamConn, type UpstreamOwner } from "./upstream-pool.ts";

const CLIENT_GONE = "client closed before the request was complete";

enum Phase {
  Routing,
  Dialing,
  /** Dialing again: the pooled connection died before any response byte (the head is resent). */
  Redialing,
  Forwarding,
  Done,
}

/** How far the response got. */
enum Res {
  Awaited,
  /** Its head was relayed to the client. */
  Started,
  /** All of it was (the exchange finishes once the upstream's parser has returned). */
  Complete,
}

export class Exchange implements ClientHandler, UpstreamOwner, ResponseHandler, RouteWaiter {
  private phase = Phase.Routing;
  private decision: DialDecision | null = null;
  private reported = false;
  /** The whole request was read from the client (and sent, once an upstream is attached). */
  private reqDone: boolean;
  /** The client connection closes once this exchange is over. */
  private closeAfter = false;
  private res = Res.Awaited;
  private resStatus = 0;
  private t0 = 0;
  private latencyMs = -1;

  constructor(
    private readonly conn: ClientSide,
    private readonly req: RequestHead,
  ) {
    this.reqDone = req.body.kind === "none";
  }

  /** Asks route() where the request goes (route-step.ts): decide() or routeFailed() follows. */
  route(): void {
    askRoute(this.conn, this.req, this);
  }

  /** The outcome, once per exchange that reached a dial decision (later calls do nothing). */
  report(outcome: ProxyOutcome): void {
    const decision = this.decision;
    if (decision === null || this.reported) return;
    this.reported = true;
    try {
      decision.done?.(outcome);
    } catch {
      // the balancer's bookkeeping must not break the data path
    }
  }

  // --- the client connection's events ---

  clientData(chunk: Uint8Array): void {
    const rb = this.conn.reader.buffer;
    if (this.phase === Phase.Forwarding) {
      if (!this.reqDone && rb.length === 0) this.sendBody(asBuffer(chunk));
      else {
        rb.append(chunk);
        if (!this.reqDone) this.sendBody(null);
        else this.conn.checkReadAhead();
      }
    } else if (this.phase !== Phase.Done) {
      rb.append(chunk);
      this.conn.checkReadAhead();
    }
  }

  clientDrain(): void {
    this.conn.link.clientDrained();
  }

  clientEnd(): void {
    if (this.phase === Phase.Forwarding && !this.reqDone) this.abort(CLIENT_GONE);
    else this.closeAfter = true;
  }

  clientClose(error?: Error): void {
    this.phase = Phase.Done;
    this.conn.link.retire(error);
    this.report({ ok: false, latencyMs: this.elapsed() });
  }

  expire(): void {
    if (this.phase === Phase.Forwarding && this.res === Res.Awaited)
      this.fail("timeout", "upstream did not answer in time");
  }

  stop(): void {
    this.phase = Phase.Done;
    this.conn.link.retire();
  }

  // --- the upstream connection's events (this exchange owns it) ---

  upstreamData(chunk: Uint8Array): void {
    if (this.phase !== Phase.Forwarding) return;
    this.up().reader.feed(chunk, this, this.conn.ctx.limits);
    if (this.res === Res.Complete && this.phase === Phase.Forwarding) this.responseOver();
  }

  upstreamDrain(): void {
    if (this.phase === Phase.Forwarding) this.conn.resumeClient(P_UPSTREAM);
  }

  upstreamEnd(): void {
    this.upstreamClose();
  }

  upstreamClose(error?: Error): void {
    if (this.phase === Phase.Forwarding)
      this.upstreamGone(error, error?.message ?? "upstream closed the connection");
  }

  // --- routing and the upstream connection ---

  /** route()'s decision: its own answer, or a pooled or dialed upstream connection. */
  decide(decision: RouteDecision): void {
    if (this.phase !== Phase.Routing) return;
    const req = this.req;
    if (decision.kind === "respond") {
      this.end(answerRoute(this.conn, req, decision, this.closeAfter));
      return;
    }
    this.decision = decision;
    this.t0 = performance.now();
    const key = targetKey(decision.target);
    const pooled = req.method === "CONNECT" ? null : this.conn.ctx.pool.take(key);
    if (pooled !== null) this.attach(pooled);
    else this.dial(key);
  }

  routeFailed(error: unknown): void {
    if (this.phase === Phase.Routing) answerRouteError(this.conn, error);
  }

  private dial(key: string, phase: Phase.Dialing | Phase.Redialing = Phase.Dialing): void {
    this.phase = phase;
    const target = (this.decision as DialDecision).target;
    this.conn.ctx.pool.dial(target, key).then(
      (up) => {
        if (this.phase !== phase) up.retire();
        else this.attach(up);
      },
      (error) => {
        if (this.phase === phase) this.fail(errorKind(error), describeError(error));
      },
    );
  }

  private attach(up: UpstreamConn): void {
    const req = this.req;
    const conn = this.conn;
    conn.link.attach(up);
    up.owner = this;
    up.reader.begin(req.method);
    const resend = this.phase === Phase.Redialing;
    this.phase = Phase.Forwarding;
    this.res = Res.Awaited;
    if (req.method === "CONNECT") {
      this.openTunnel(200, CONNECT_ESTABLISHED);
      return;
    }
    if (resend) {
      // A fresh connection for a request whose first one died: the head as sent before, then the
      // body from where the client is (none of it had been sent beyond the head).
      // Writing to the dead connection may have paused the client; this connection's queue is empty.
      conn.resumeClient(P_UPSTREAM);
      this.expectResponse();
      conn.requestSender.resendHead();
      if (this.reqDone) conn.checkReadAhead();
      else if (conn.reader.buffer.length > 0) this.sendBody(null);
      else if (conn.clientEnded) this.abort(CLIENT_GONE);
      return;
    }
    try {
      this.reqDone = conn.requestSender.sendHead(req, this.decision as DialDecision, this.reqDone);
    } catch (error) {
      this.requestBodyError(error);
      return;
    }
    this.expectResponse();
    if (!this.reqDone && conn.clientEnded) this.abort(CLIENT_GONE);
    else conn.checkReadAhead();
  }

  private up(): UpstreamConn {
    return this.conn.link.up as UpstreamConn;
  }

  private openTunnel(status: number, head: Uint8Array, after?: Uint8Array): void {
    this.phase = Phase.Done;
    if (this.latencyMs < 0) this.latencyMs = this.elapsed();
    new Tunnel(this.conn, this, status, this.latencyMs).open(head, after);
  }

  // --- the request ---

  /** The answer is due once the request is sent (or at once when the client waits for 100 Continue). */
  private expectResponse(): void {
    if (this.reqDone || this.req.expectContinue)
      this.conn.deadline = Date.now() + this.conn.ctx.timeouts.responseMs;
  }

  /** Request body bytes: `chunk` as it arrived (none buffered), or (null) those in the read buffer. */
  private sendBody(chunk: Buffer | null): void {
    const conn = this.conn;
    let complete: boolean;
    try {
      complete = chunk !== null ? conn.requestSender.forward(chunk) : conn.requestSender.pump();
    } catch (error) {
      this.requestBodyError(error);
      return;
    }
    if (!complete) {
      if (chunk === null) conn.checkReadAhead();
      return;
    }
    this.reqDone = true;
    if (this.res === Res.Complete) this.finish();
    else {
      if (this.res === Res.Awaited) this.expectResponse();
      conn.checkReadAhead();
    }
  }

  private requestBodyError(error: unknown): void {
    this.conn.link.retire();
    this.report({ ok: false, latencyMs: this.elapsed() });
    if (this.res !== Res.Awaited) this.conn.client.destroy(new Error(describeError(error)));
    else this.conn.badRequest(error);
  }

  private abort(message: string): void {
    this.conn.link.retire();
    this.report({ ok: false, latencyMs: this.elapsed() });
    this.conn.client.destroy(new Error(message));
  }

  // --- the response, as the upstream connection's parser reads it ---

  responseInterim(bytes: Buffer): void {
    this.responseBegins();
    this.conn.responseSender.interim(bytes, this.req.minor);
  }

  responseSwitch(head: ResponseHead, bytes: Buffer, after: Buffer): void {
    this.responseBegins();
    if (this.req.upgrade === null) this.fail("reset", "101 Switching Protocols without an upgrade request");
    else
      this.openTunnel(
        101,
        this.conn.responseSender.switchHead(head, bytes, this.decision?.upstreamLabel),
        after,
      );
  }

  responseHead(head: ResponseHead, reader: ResponseReader, closeDelimited: boolean): void {
    this.responseBegins();
    const req = this.req;
    this.closeAfter ||= !req.keepAlive || !this.reqDone || this.conn.clientEnded || closeDelimited;
    this.resStatus = head.status;
    this.res = Res.Started;
    const label = (this.decision as DialDecision).upstreamLabel;
    this.conn.responseSender.head(head, reader, this.closeAfter, req.minor, label);
  }

  responseBody(chunk: Buffer): void {
    this.conn.responseSender.body(chunk);
  }

  responseError(message: string): void {
    this.fail("reset", message);
  }

  responseComplete(): void {
    this.res = Res.Complete;
  }

  /**
   * The response is complete (and the upstream's parser done with it): the exchange is over, or,
   * when the upstream answered before the request was complete, the connection closes.
   */
  private responseOver(): void {
    if (this.reqDone) {
      this.finish();
      return;
    }
    // The upstream answered before the request was complete (we said Connection: close).
    this.conn.link.retire();
    this.report({ ok: true, status: this.resStatus, latencyMs: this.latencyMs });
    this.conn.closeGracefully();
  }

  /** A head from the upstream: the first one is when the latency is measured. */
  private responseBegins(): void {
    if (this.latencyMs < 0) this.latencyMs = this.elapsed();
    this.conn.deadline = 0;
  }

  /** The upstream sent FIN or closed while this exchange was forwarding. */
  private upstreamGone(error: Error | undefined, message: string): void {
    const up = this.up();
    if (error === undefined && up.reader.endsAtClose()) {
      this.res = Res.Complete;
      this.responseOver();
      return;
    }
    if (this.res === Res.Complete) return;
    // The connection broke mid-exchange: resend once on a fresh one when that is safe.
    this.conn.link.retire();
    const untouched = this.res === Res.Awaited && up.reader.buffer.length === 0 && this.latencyMs < 0;
    if (untouched && up.reused && this.conn.requestSender.mayResend(this.req)) {
      this.dial(up.key, Phase.Redialing);
      return;
    }
    this.fail(error === undefined ? "reset" : errorKind(error) === "timeout" ? "timeout" : "reset", message);
  }

  // --- the end ---

  private finish(): void {
    this.report({ ok: true, status: this.resStatus, latencyMs: this.latencyMs });
    const up = this.conn.link.release();
    if (up !== null) {
      if (up.reader.reusable && !up.ended && !up.closed) this.conn.ctx.pool.release(up);
      else up.retire();
    }
    this.end(this.closeAfter);
  }

  private fail(kind: UpstreamErrorKind, message: string): void {
    const conn = this.conn;
    const req = this.req;
    conn.ctx.stats.upstreamErrors++;
    conn.link.retire();
    this.report({ ok: false, error: kind, latencyMs: this.elapsed() });
    if (this.res !== Res.Awaited) {
      // The client already has part of a response: only a cut connection tells it it is incomplete.
      conn.client.destroy(new Error(message));
      return;
    }
    const close = closesAfterAnswer(conn, req, this.closeAfter) || !this.reqDone;
    answerUpstreamError(conn, req, kind, message, (this.decision as DialDecision).target, close);
    this.end(close);
  }

  private end(close: boolean): void {
    this.phase = Phase.Done;
    this.conn.exchangeOver(close || this.closeAfter);
  }

  private elapsed(): number {
    return this.t0 === 0 ? 0 : performance.now() - this.t0;
  }
}
