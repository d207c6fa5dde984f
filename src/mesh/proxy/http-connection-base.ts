// The state of one inbound HTTP/1.1 connection of the proxy and what both of its sides use: writing
// with back-pressure, pausing the client, ending an exchange (next request or close), the proxy's own
// error responses, the report to the balancer. The request side is http-connection.ts, the response
// side http-response-relay.ts; one object per connection, split in three files by concern.
import type { Duplex } from "../contracts.ts";
import { errorMessage, type ProxyOutcome, type UpstreamErrorKind } from "./dial-errors.ts";
import { BodyReader } from "./http-body.ts";
import { errorResponse, type RequestRewrite, type ResponseRewrite } from "./http-head-writer.ts";
import { HttpParseError, type RequestHead } from "./http-parser.ts";
import type { ConnectionInfo, DialDecision, ProxyContext } from "./http-types.ts";
import { ReadBuffer } from "./read-buffer.ts";
import type { UpstreamConn } from "./upstream-pool.ts";

export enum St {
  Head,
  Routing,
  Dialing,
  Forwarding,
  Tunnel,
  Closing,
  Closed,
}
export enum Res {
  Head,
  Body,
  Done,
}
/** Why the client is paused (bits). */
export const P_UPSTREAM = 1;
export const P_READAHEAD = 2;
/** Body bytes up to this size travel in the same write as the head. */
export const COALESCE = 16 * 1024;

export abstract class ConnectionBase {
  deadline = 0;
  protected state = St.Head;
  protected readonly rb = new ReadBuffer();
  /** Bytes of the current partial head already searched for its end. */
  protected scanned = 0;
  protected pauseBits = 0;
  protected clientEnded = false;
  /** drive() is on the stack (a nested call returns; the outer loop goes on). */
  protected driving = false;
  // the current exchange
  protected req: RequestHead | null = null;
  protected decision: DialDecision | null = null;
  protected reported = false;
  protected readonly reqBody = new BodyReader();
  protected reqDone = false;
  protected up: UpstreamConn | null = null;
  protected upPaused = false;
  protected upReusable = true;
  protected upEnded = false;
  protected res = Res.Head;
  protected readonly ab = new ReadBuffer();
  protected abScanned = 0;
  protected resStatus = 0;
  protected readonly resBody = new BodyReader();
  protected responseStarted = false;
  protected closeAfter = false;
  protected retried = false;
  /** The request head as sent upstream (with the body bytes coalesced into it), for a retry. */
  protected sentHead: Buffer | null = null;
  /** Body bytes that went in sentHead; body bytes written upstream after it. */
  protected headBody = 0;
  protected bodyOut = 0;
  protected t0 = 0;
  protected latencyMs = -1;
  /** How requests are rewritten on this connection (the writer memoises in it). */
  protected readonly rewrite: RequestRewrite;
  /** How the current response is rewritten (reused). */
  protected readonly responseRewrite: ResponseRewrite = { close: false, clientMinor: 1, upgrade: false };

  constructor(
    protected readonly ctx: ProxyContext,
    protected readonly inbound: Duplex,
    protected readonly info: ConnectionInfo,
  ) {
    this.rewrite = { clientAddress: info.remoteAddress, proto: info.proto ?? "http", upgrade: false };
  }

  /** Reads as many requests from the read buffer as can be handled now (request side). */
  protected abstract drive(): void;
  /** Dials the current decision's target (request side). */
  protected abstract dial(key: string): void;

  destroy(): void {
    this.inbound.destroy();
  }

  /** Closes the current upstream connection for good (it cannot carry another request). */
  protected retireUp(): void {
    this.up?.retire();
    this.up = null;
  }

  protected writeUp(chunk: Uint8Array): void {
    if (!(this.up as UpstreamConn).duplex.write(chunk)) this.pauseClient(P_UPSTREAM);
  }

  protected writeClient(chunk: Uint8Array): void {
    if (!this.inbound.write(chunk) && this.up !== null && !this.upPaused) {
      this.upPaused = true;
      this.up.duplex.pause();
    }
  }

  protected pauseClient(bit: number): void {
    if (this.pauseBits === 0) this.inbound.pause();
    this.pauseBits |= bit;
  }

  protected resumeClient(bits: number): void {
    if (this.pauseBits === 0) return;
    this.pauseBits &= ~bits;
    if (this.pauseBits === 0) this.inbound.resume();
  }

  /** Pauses the client while too much is read ahead, resumes it once that was consumed. */
  protected checkReadAhead(): void {
    if (this.rb.length > this.ctx.readAheadBytes) this.pauseClient(P_READAHEAD);
    else if ((this.pauseBits & P_READAHEAD) !== 0) this.resumeClient(P_READAHEAD);
  }

  protected report(outcome: ProxyOutcome): void {
    const decision = this.decision;
    if (decision === null || this.reported) return;
    this.reported = true;
    try {
      decision.done?.(outcome);
    } catch {
      // the balancer's bookkeeping must not break the data path
    }
  }

  protected elapsed(): number {
    return this.t0 === 0 ? 0 : performance.now() - this.t0;
  }

  /** Sends FIN after what is queued, reads and discards until the client closes (or lingerMs). */
  protected closeGracefully(): void {
    if (this.state === St.Closing || this.state === St.Closed) return;
    this.retireUp();
    this.state = St.Closing;
    this.rb.clear();
    this.deadline = Date.now() + this.ctx.timeouts.lingerMs;
    this.inbound.end();
    this.resumeClient(P_UPSTREAM | P_READAHEAD);
  }

  protected badRequest(error: unknown): void {
    const status = error instanceof HttpParseError ? error.status : 400;
    const message = errorMessage(error);
    this.ctx.stats.badRequests++;
    this.ctx.onEvent({ kind: "bad-request", status, message, remoteAddress: this.info.remoteAddress });
    const code = status === 431 ? "head-too-large" : status === 408 ? "head-timeout" : "bad-request";
    this.inbound.write(errorResponse(status, code, message, {}, { close: true }));
    this.closeGracefully();
  }

  /** A request whose answer is ours (route's, or an error) and that may carry a body: close after. */
  protected mustCloseAfterLocalAnswer(): boolean {
    const req = this.req as RequestHead;
    return (
      req.body.kind !== "none" ||
      !req.keepAlive ||
      this.clientEnded ||
      this.closeAfter ||
      req.method === "CONNECT"
    );
  }

  /** The exchange is over: next request, or close. */
  protected endExchange(close: boolean): void {
    this.req = null;
    this.decision = null;
    this.sentHead = null;
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

  protected failExchange(kind: UpstreamErrorKind, message: string): void {
    const req = this.req as RequestHead;
    const decision = this.decision as DialDecision;
    this.ctx.stats.upstreamErrors++;
    this.retireUp();
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
}
