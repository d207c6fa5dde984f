// A raw two-way splice between two Duplexes with back-pressure in both directions (a side whose peer
// is not draining is paused) and half-close passed on (an end on one side ends the other's writes).
// The first side is known before the second exists (a TCP client waiting for its upstream to be dialed):
// its bytes wait, paused, until attach(); if it closes meanwhile, the splice is over at once.
// Handlers are registered once per Duplex, here.
import type { Duplex } from "../contracts.ts";

export interface SpliceResult {
  /** Set when either side broke (the other was then destroyed). */
  error?: Error;
  /** Bytes from the first side to the second, and back. */
  sent: number;
  received: number;
}

export class Splice {
  private b: Duplex | null = null;
  private waiting: Uint8Array[] = [];
  private aEnded = false;
  private aClosed = false;
  private bClosed = false;
  private finished = false;
  private sent = 0;
  private received = 0;

  constructor(
    private readonly a: Duplex,
    private readonly onDone: (result: SpliceResult) => void = () => {},
  ) {
    a.pause();
    a.onData((chunk) => {
      this.sent += chunk.byteLength;
      const b = this.b;
      if (b === null) this.waiting.push(chunk);
      else if (!b.write(chunk)) a.pause();
    });
    a.onDrain(() => this.b?.resume());
    a.onEnd(() => {
      this.aEnded = true;
      this.b?.end();
    });
    a.onClose((error) => {
      this.aClosed = true;
      if (this.b === null || error !== undefined) this.finish(error);
      else if (!this.bClosed) this.b.end();
      if (this.bClosed) this.finish();
    });
  }

  get done(): boolean {
    return this.finished;
  }

  /** Connects the second side; the first side's waiting bytes go first. */
  attach(b: Duplex): void {
    if (this.finished || this.b !== null) {
      b.destroy();
      return;
    }
    this.b = b;
    const a = this.a;
    b.onData((chunk) => {
      this.received += chunk.byteLength;
      if (!a.write(chunk)) b.pause();
    });
    b.onDrain(() => a.resume());
    b.onEnd(() => a.end());
    b.onClose((error) => {
      this.bClosed = true;
      if (error !== undefined) this.finish(error);
      else if (!this.aClosed) a.end();
      if (this.aClosed) this.finish();
    });
    const waiting = this.waiting;
    this.waiting = [];
    let open = true;
    for (const chunk of waiting) open = b.write(chunk);
    if (this.aEnded) b.end();
    if (open) a.resume();
  }

  /** Ends the splice before (or after) attach: both sides are destroyed. */
  abort(error?: Error): void {
    this.finish(error ?? new Error("splice aborted"));
  }

  private finish(error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.waiting = [];
    if (error !== undefined) {
      this.a.destroy(error);
      this.b?.destroy(error);
    }
    this.onDone({ ...(error !== undefined ? { error } : {}), sent: this.sent, received: this.received });
  }
}
