// The upstream connection serving a client connection right now (one per client connection; an
// exchange attaches a connection from the pool, a tunnel keeps the one its exchange had), and the
// bytes between the two with back-pressure both ways: a write the upstream cannot take pauses the
// client until the upstream drains; a write the client cannot take pauses the upstream until the
// client drains.
import type { Duplex } from "../contracts.ts";
import type { UpstreamConn } from "./upstream-pool.ts";

/** What the link needs of its client connection. */
export interface LinkClient {
  readonly client: Duplex;
  /** The upstream cannot take more for now: stop reading the client. */
  upstreamFull(): void;
}

export class UpstreamLink {
  /** The upstream connection (null: none attached, or it was let go). */
  up: UpstreamConn | null = null;
  /** The upstream is paused because the client is not draining. */
  private upPaused = false;

  constructor(private readonly conn: LinkClient) {}

  attach(up: UpstreamConn): void {
    this.up = up;
    this.upPaused = false;
  }

  /** Lets the connection go without closing it (the pool or a graceful end takes it). */
  detach(): UpstreamConn | null {
    const up = this.up;
    this.up = null;
    return up;
  }

  /** Closes the upstream connection for good (it cannot carry another request). */
  retire(error?: Error): void {
    this.up?.retire(error);
    this.up = null;
  }

  /** Lets the connection go for another request: it must not stay paused. */
  release(): UpstreamConn | null {
    const up = this.detach();
    if (up !== null && this.upPaused) up.duplex.resume();
    this.upPaused = false;
    return up;
  }

  toUpstream(chunk: Uint8Array): void {
    if (!(this.up as UpstreamConn).duplex.write(chunk)) this.conn.upstreamFull();
  }

  toClient(chunk: Uint8Array): void {
    if (!this.conn.client.write(chunk) && this.up !== null && !this.upPaused) {
      this.upPaused = true;
      this.up.duplex.pause();
    }
  }

  /** The client drained its queue: the upstream may send again. */
  clientDrained(): void {
    if (this.upPaused && this.up !== null) {
      this.upPaused = false;
      this.up.duplex.resume();
    }
  }
}
