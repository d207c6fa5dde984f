// One client connection of the HTTP/1.1 proxy (a client of a service port, a tunnel stream from
// another agent, a forward-proxy client): the socket's side of the engine. It reads request heads
// with its parser (request-reader.ts) and runs one exchange per request (exchange.ts), one at a
// time: keep-alive, pipelined requests wait in the read buffer. After a CONNECT or a 101 Switching
// Protocols the connection belongs to a tunnel (tunnel.ts) until it closes. The connection's
// other parts: the link to the upstream connection serving it (upstream-link.ts) and what sends its
// requests upstream and the responses back (request-sender.ts, response-sender.ts). It owns what concerns the socket whatever the request: pausing
// the client (the upstream is full, too much read ahead), the deadline the proxy's timer enforces,
// the proxy's own 400/408/431 answers, and closing gracefully (FIN after the last response, then
// reading until the client closes).
//
//   reading ──head──▶ busy (an Exchange, or after CONNECT / 101 a Tunnel) ──over──▶ reading
//      └──────────────────────┴──error, FIN, last response──▶ closing ──▶ closed
import { describeError } from "../../runtime/errors.ts";
import type { Duplex } from "../contracts.ts";
import { type ClientHandler, type ClientSide, P_READAHEAD, P_UPSTREAM } from "./client-side.ts";
import { Exchange } from "./exchange.ts";
import { errorResponse } from "./http-head-writer.ts";
import { HttpParseError, type RequestHead } from "./http-parser.ts";
import type { ConnectionInfo, Expirable, ProxyContext } from "./http-types.ts";
import { RequestReader, Waiting } from "./request-reader.ts";
import { RequestSender } from "./request-sender.ts";
import { ResponseSender } from "./response-sender.ts";
import { type LinkClient, UpstreamLink } from "./upstream-link.ts";

enum State {
  Reading,
  Busy,
  Closing,
  Closed,
}

export class ClientConnection implements ClientSide, LinkClient, Expirable {
  deadline = 0;
  /** The client sent FIN. */
  clientEnded = false;
  readonly reader: RequestReader;
  readonly link: UpstreamLink;
  readonly requestSender: RequestSender;
  readonly responseSender: ResponseSender;
  private state = State.Reading;
  private pauseBits = 0;
  /** drive() is on the stack (a nested call returns; the outer loop goes on). */
  private driving = false;
  /**
   * Who the client's events go to while busy: the current exchange, or a tunnel (the exchange is
   * kept while closing, so that its outcome is reported once the socket closes).
   */
  private handler: ClientHandler | null = null;

  constructor(
    readonly ctx: ProxyContext,
    readonly client: Duplex,
    readonly info: ConnectionInfo,
  ) {
    this.reader = new RequestReader(ctx.limits);
    this.link = new UpstreamLink(this);
    this.requestSender = new RequestSender(this.reader, this.link, info);
    this.responseSender = new ResponseSender(this.link);
  }

  start(): void {
    const client = this.client;
    client.onData((chunk) => this.clientData(chunk));
    client.onDrain(() => this.clientDrain());
    client.onEnd(() => this.clientEnd());
    client.onClose((error) => this.clientClose(error));
    this.deadline = Date.now() + this.ctx.timeouts.headMs;
  }

  destroy(): void {
    this.client.destroy();
  }

  expire(): void {
    this.deadline = 0;
    switch (this.state) {
      case State.Reading:
        if (this.reader.buffer.length === 0) this.closeGracefully();
        else this.badRequest(new HttpParseError(408, "request head not complete in time"));
        return;
      case State.Busy:
        this.handler?.expire();
        return;
      case State.Closing:
        this.client.destroy();
        return;
      default:
    }
  }

  /** Reads as many requests from the read buffer as can be handled now. */
  drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      this.readRequests();
    } finally {
      this.driving = false;
    }
  }

  /** The exchange is over: the next request, or close. */
  exchangeOver(close: boolean): void {
    this.handler = null;
    if (close) {
      this.closeGracefully();
      return;
    }
    this.state = State.Reading;
    this.resumeClient(P_UPSTREAM | P_READAHEAD);
    if (this.state === State.Reading) this.drive();
  }

  handOver(handler: ClientHandler): void {
    this.handler = handler;
  }

  upstreamFull(): void {
    this.pauseClient(P_UPSTREAM);
  }

  pauseClient(bit: number): void {
    if (this.pauseBits === 0) this.client.pause();
    this.pauseBits |= bit;
  }

  resumeClient(bits: number): void {
    if (this.pauseBits === 0) return;
    this.pauseBits &= ~bits;
    if (this.pauseBits === 0) this.client.resume();
  }

  /** Pauses the client while too much is read ahead, resumes it once that was consumed. */
  checkReadAhead(): void {
    if (this.reader.buffer.length > this.ctx.readAheadBytes) this.pauseClient(P_READAHEAD);
    else if ((this.pauseBits & P_READAHEAD) !== 0) this.resumeClient(P_READAHEAD);
  }

  /** Sends FIN after what is queued, reads and discards until the client closes (or lingerMs). */
  closeGracefully(): void {
    if (this.state === State.Closing || this.state === State.Closed) return;
    this.handler?.stop();
    this.state = State.Closing;
    this.reader.buffer.clear();
    this.deadline = Date.now() + this.ctx.timeouts.lingerMs;
    this.client.end();
    this.resumeClient(P_UPSTREAM | P_READAHEAD);
  }

  /** A malformed request (or one that took too long): 400/408/431, then close. */
  badRequest(error: unknown): void {
    const status = error instanceof HttpParseError ? error.status : 400;
    const message = describeError(error);
    this.ctx.stats.badRequests++;
    this.ctx.onEvent({ kind: "bad-request", status, message, remoteAddress: this.info.remoteAddress });
    const code = status === 431 ? "head-too-large" : status === 408 ? "head-timeout" : "bad-request";
    this.client.write(errorResponse(status, code, message, {}, { close: true }));
    this.closeGracefully();
  }

  private readRequests(): void {
    const reader = this.reader;
    while (this.state === State.Reading) {
      let req: RequestHead | null;
      try {
        req = reader.next();
      } catch (error) {
        this.badRequest(error);
        return;
      }
      if (req === null) {
        if (reader.waiting === Waiting.Idle) this.deadline = Date.now() + this.ctx.timeouts.keepAliveMs;
        else if (reader.waiting === Waiting.HeadStarted)
          this.deadline = Date.now() + this.ctx.timeouts.headMs;
        return;
      }
      this.deadline = 0;
      this.ctx.stats.requests++;
      const exchange = new Exchange(this, req);
      this.handler = exchange;
      this.state = State.Busy;
      exchange.route();
    }
  }

  private clientData(chunk: Uint8Array): void {
    switch (this.state) {
      case State.Reading:
        this.reader.buffer.append(chunk);
        this.drive();
        return;
      case State.Busy:
        (this.handler as ClientHandler).clientData(chunk);
        return;
      default:
      // Closing: read and discard, so that our last response is not lost to a reset
    }
  }

  private clientDrain(): void {
    if (this.state === State.Busy) this.handler?.clientDrain();
  }

  private clientEnd(): void {
    this.clientEnded = true;
    switch (this.state) {
      case State.Reading:
        this.closeGracefully();
        return;
      case State.Busy:
        this.handler?.clientEnd();
        return;
      default:
    }
  }

  private clientClose(error?: Error): void {
    this.state = State.Closed;
    this.deadline = 0;
    this.ctx.connections.delete(this);
    this.handler?.clientClose(error);
    this.handler = null;
    this.reader.buffer.clear();
  }
}
