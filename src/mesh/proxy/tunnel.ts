// A client connection after CONNECT (200 Connection Established) or a 101 Switching Protocols: from
// then on a raw two-way byte stream between the client and the upstream connection the exchange had
// (upstream-link.ts: back-pressure both ways), with half-close passed on. The tunnel owns the client
// connection's events and the upstream connection until either side closes, and reports the
// outcome of the exchange that opened it then.

import { type ClientHandler, type ClientSide, P_READAHEAD, P_UPSTREAM } from "./client-side.ts";
import type { ProxyOutcome } from "./dial-errors.ts";
import type { UpstreamConn, UpstreamOwner } from "./upstream-pool.ts";

/** Where the tunnel's outcome goes (the exchange that opened it; reported once). */
export interface OutcomeReporter {
  report(outcome: ProxyOutcome): void;
}

export class Tunnel implements ClientHandler, UpstreamOwner {
  constructor(
    private readonly conn: ClientSide,
    private readonly exchange: OutcomeReporter,
    /** 200 for CONNECT, 101 for an upgrade. */
    private readonly status: number,
    private readonly latencyMs: number,
  ) {
    (conn.link.up as UpstreamConn).owner = this;
  }

  /**
   * Takes the client connection's events over, sends the client the head that opens the tunnel
   * (and the upstream's bytes that came after it), and the upstream what the client sent ahead of time.
   */
  open(head: Uint8Array, after?: Uint8Array): void {
    const conn = this.conn;
    conn.handOver(this);
    const link = conn.link;
    conn.deadline = 0;
    link.toClient(head);
    const rest = conn.reader.buffer.takeAll();
    if (rest.byteLength > 0) link.toUpstream(rest);
    conn.resumeClient(P_READAHEAD);
    if (conn.clientEnded) link.up?.duplex.end();
    if (after !== undefined && after.byteLength > 0) link.toClient(after);
  }

  clientData(chunk: Uint8Array): void {
    if (this.conn.link.up !== null) this.conn.link.toUpstream(chunk);
  }

  clientDrain(): void {
    this.conn.link.clientDrained();
  }

  clientEnd(): void {
    this.conn.link.up?.duplex.end();
  }

  clientClose(error?: Error): void {
    const up = this.conn.link.detach();
    if (up !== null) {
      if (error === undefined && !up.closed) {
        up.owner = null;
        up.duplex.end();
      } else up.retire(error);
    }
    this.exchange.report({ ok: true, status: this.status, latencyMs: this.latencyMs });
  }

  expire(): void {
    // no deadline while a tunnel is open
  }

  stop(): void {
    this.conn.link.retire();
  }

  upstreamData(chunk: Uint8Array): void {
    this.conn.link.toClient(chunk);
  }

  upstreamDrain(): void {
    this.conn.resumeClient(P_UPSTREAM);
  }

  upstreamEnd(): void {
    this.conn.client.end();
  }

  upstreamClose(error?: Error): void {
    this.conn.link.detach();
    if (error !== undefined) {
      this.exchange.report({ ok: false, status: this.status, error: "reset", latencyMs: this.latencyMs });
      this.conn.client.destroy(error);
    } else this.conn.client.end();
  }
}
