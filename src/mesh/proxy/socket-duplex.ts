// A Duplex (contracts.ts) over a Bun socket: plain TCP from Bun.listen / Bun.connect, or TLS (Bun.connect
// with `tls`, a TLS listener, socket.upgradeTLS: the same Socket type). Bun's socket.write is unbuffered
// and may write part of a chunk, so this keeps a write queue that the drain handler flushes, reports
// back-pressure with high/low water marks, pauses reading with socket.pause(), half-closes after the
// queue is flushed, and reports the close once.
//
// Bun takes a socket's handlers when it is created, so the handlers here are shared by every socket and
// dispatch to the SocketDuplex kept in socket.data; use listenDuplex / connectDuplex (socket-listen-connect.ts)
// or duplexSocketHandlers with a SocketDuplex as `data` for socket.upgradeTLS.
//
// Ownership: write(chunk) keeps a reference to the chunk until it is written; the caller must not change
// it afterwards (the proxy forwards the buffers Bun hands to data handlers, which are fresh each time).
import type { Socket, SocketHandler } from "bun";
import type { Duplex } from "../contracts.ts";
import { asError } from "./dial-errors.ts";

export interface WaterMarks {
  /** write() returns false once this many bytes wait in the queue. Default 64 KiB. */
  highWaterMark?: number;
  /** onDrain fires when the queue falls to this many bytes after write() returned false. Default 16 KiB. */
  lowWaterMark?: number;
}

const DEFAULT_HIGH = 64 * 1024;
const DEFAULT_LOW = 16 * 1024;
/** Small queued chunks are merged into one write of up to this many bytes. */
const COALESCE_LIMIT = 64 * 1024;

type Handler<T extends unknown[]> = ((...args: T) => void) | null;

export class SocketDuplex implements Duplex {
  private sock: Socket<SocketDuplex> | null = null;
  private readonly high: number;
  private readonly low: number;
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queued = 0;
  private needDrain = false;
  private ending = false;
  private shutDown = false;
  private peerEnded = false;
  private closed = false;
  private paused = false;
  private lastError: Error | undefined;
  /** Data that arrived while paused or before onData was set. */
  private pending: Uint8Array[] = [];
  private endPending = false;
  private dataHandler: Handler<[Uint8Array]> = null;
  private drainHandler: Handler<[]> = null;
  private endHandler: Handler<[]> = null;
  private closeHandler: Handler<[Error | undefined]> = null;
  remoteAddress = "";
  private keepAliveMs = 0;

  constructor(marks: WaterMarks = {}) {
    this.high = marks.highWaterMark ?? DEFAULT_HIGH;
    this.low = Math.min(marks.lowWaterMark ?? DEFAULT_LOW, this.high);
  }

  /** The underlying socket (e.g. to read the peer certificate of a TLS connection). */
  get socket(): Socket<SocketDuplex> | null {
    return this.sock;
  }

  /** Bytes waiting in the write queue. */
  get bufferedAmount(): number {
    return this.queued;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Binds the socket (called from the open handler). */
  attach(socket: Socket<SocketDuplex>): void {
    this.sock = socket;
    socket.data = this;
    this.remoteAddress = socket.remoteAddress ?? "";
    try {
      socket.setNoDelay(true);
    } catch {
      // not a TCP socket (e.g. a unix socket): nothing to do
    }
    if (this.keepAliveMs > 0) this.keepAlive(this.keepAliveMs);
    if (this.queued > 0) this.handleDrain();
  }

  /** SO_KEEPALIVE with TCP_KEEPIDLE = initialDelayMs (Bun: TCP_KEEPINTVL 1 s, TCP_KEEPCNT 10). */
  keepAlive(initialDelayMs: number): void {
    this.keepAliveMs = initialDelayMs;
    try {
      this.sock?.setKeepAlive(true, initialDelayMs);
    } catch {
      // not a TCP socket: nothing to probe
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending || chunk.byteLength === 0) return !this.closed && !this.ending;
    const sock = this.sock;
    if (sock !== null && this.queued === 0) {
      const n = sock.write(chunk);
      if (n === chunk.byteLength) return true;
      if (n < 0) return false;
      this.queue.push(n === 0 ? chunk : chunk.subarray(n));
      this.queued += chunk.byteLength - n;
    } else {
      this.queue.push(chunk);
      this.queued += chunk.byteLength;
    }
    if (this.queued >= this.high) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    if (this.queued === 0) this.shutdownNow();
  }

  destroy(reason?: Error): void {
    if (this.closed) return;
    this.finish(reason);
    this.sock?.terminate();
  }

  pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.sock?.pause();
  }

  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.sock?.resume();
    this.deliverPending();
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.dataHandler = handler;
    if (this.pending.length > 0 || this.endPending) queueMicrotask(() => this.deliverPending());
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onEnd(handler: () => void): void {
    this.endHandler = handler;
  }

  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
  }

  // --- socket events (from duplexSocketHandlers) ---

  handleData(data: Uint8Array): void {
    if (this.closed) return;
    if (this.paused || this.dataHandler === null || this.pending.length > 0) {
      this.pending.push(data);
      return;
    }
    this.dataHandler(data);
  }

  handleDrain(): void {
    const sock = this.sock;
    if (sock === null || this.closed) return;
    while (this.queueHead < this.queue.length) {
      let chunk = this.queue[this.queueHead] as Uint8Array;
      let merged = 1;
      if (chunk.byteLength < COALESCE_LIMIT / 4 && this.queue.length - this.queueHead > 1) {
        let size = chunk.byteLength;
        while (this.queueHead + merged < this.queue.length) {
          const next = this.queue[this.queueHead + merged] as Uint8Array;
          if (size + next.byteLength > COALESCE_LIMIT) break;
          size += next.byteLength;
          merged++;
        }
        if (merged > 1)
          chunk = Buffer.concat(this.queue.slice(this.queueHead, this.queueHead + merged), size);
      }
      const n = sock.write(chunk);
      if (n < 0) return;
      this.queued -= n;
      if (n < chunk.byteLength) {
        this.queueHead += merged - 1;
        this.queue[this.queueHead] = chunk.subarray(n);
        break;
      }
      this.queueHead += merged;
    }
    if (this.queueHead >= this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.needDrain && this.queued <= this.low) {
      this.needDrain = false;
      this.drainHandler?.();
    }
    if (this.ending && this.queued === 0 && !this.closed) this.shutdownNow();
  }

  handleEnd(): void {
    if (this.closed || this.peerEnded) return;
    this.peerEnded = true;
    if (this.pending.length > 0) {
      this.endPending = true;
      return;
    }
    this.endHandler?.();
    if (this.shutDown) this.sock?.end();
  }

  handleError(error: Error): void {
    this.lastError = error;
  }

  handleClose(error?: Error): void {
    if (this.closed) return;
    // Data that was held back can no longer be delivered in order with a close; deliver it first.
    if (this.pending.length > 0 && this.dataHandler !== null) {
      const pending = this.pending;
      this.pending = [];
      for (const chunk of pending) if (!this.closed) this.dataHandler(chunk);
    }
    // After our FIN, Bun reports the peer's FIN as a close without an end: it is an end first.
    if (
      error === undefined &&
      this.lastError === undefined &&
      this.shutDown &&
      !this.peerEnded &&
      !this.closed
    ) {
      this.peerEnded = true;
      this.endHandler?.();
    }
    if (!this.closed) this.finish(error ?? this.lastError);
  }

  private deliverPending(): void {
    while (!this.paused && !this.closed && this.dataHandler !== null && this.pending.length > 0) {
      this.dataHandler(this.pending.shift() as Uint8Array);
    }
    if (this.endPending && this.pending.length === 0 && !this.paused && !this.closed) {
      this.endPending = false;
      this.endHandler?.();
      if (this.shutDown) this.sock?.end();
    }
  }

  private shutdownNow(): void {
    if (this.shutDown) return;
    this.shutDown = true;
    const sock = this.sock;
    if (sock === null) return;
    // Both directions done: close; otherwise send FIN (TLS: close_notify) and keep reading.
    if (this.peerEnded) sock.end();
    else sock.shutdown();
  }

  private finish(error?: Error): void {
    this.closed = true;
    this.queue = [];
    this.queueHead = 0;
    this.queued = 0;
    this.pending = [];
    const handler = this.closeHandler;
    this.closeHandler = null;
    this.dataHandler = null;
    this.drainHandler = null;
    this.endHandler = null;
    handler?.(error);
  }
}

/**
 * Handlers shared by every SocketDuplex socket; `data` must be the SocketDuplex. A throw in the
 * proxy's code closes that connection, never the process.
 */
export const duplexSocketHandlers: SocketHandler<SocketDuplex> = {
  binaryType: "buffer",
  data(s, data) {
    const d = s.data;
    try {
      d.handleData(data);
    } catch (error) {
      d.destroy(asError(error));
    }
  },
  drain(s) {
    const d = s.data;
    try {
      d.handleDrain();
    } catch (error) {
      d.destroy(asError(error));
    }
  },
  end(s) {
    const d = s.data;
    try {
      d.handleEnd();
    } catch (error) {
      d.destroy(asError(error));
    }
  },
  error(s, error) {
    s.data?.handleError(error);
  },
  close(s, error) {
    const d = s.data;
    try {
      d?.handleClose(error);
    } catch {
      // closing anyway
    }
  },
};
