// Two connected in-memory Duplex ends (what one end writes, the other receives, in a later
// microtask), for testing the peer server and the peers-first source together without sockets.
import type { Duplex } from "../../../src/mesh/contracts.ts";

class MemoryEnd implements Duplex {
  other!: MemoryEnd;
  readonly remoteAddress = "memory";
  closed = false;
  private ended = false;
  private paused = false;
  private pending: Uint8Array[] = [];
  private endPending = false;
  private data: ((chunk: Uint8Array) => void) | undefined;
  private endHandler: (() => void) | undefined;
  private closeHandler: ((error?: Error) => void) | undefined;
  private drain: (() => void) | undefined;

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ended) return false;
    const copy = chunk.slice();
    queueMicrotask(() => this.other.receive(copy));
    return true;
  }
  end(): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    queueMicrotask(() => this.other.receiveEnd());
  }
  destroy(reason?: Error): void {
    this.close(reason);
    this.other.close(reason ?? new Error("the other end closed"));
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.flush();
  }
  onData(handler: (chunk: Uint8Array) => void): void {
    this.data = handler;
    queueMicrotask(() => this.flush());
  }
  onDrain(handler: () => void): void {
    this.drain = handler;
    void this.drain;
  }
  onEnd(handler: () => void): void {
    this.endHandler = handler;
  }
  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
  }
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.pending.push(chunk);
    this.flush();
  }
  receiveEnd(): void {
    this.endPending = true;
    this.flush();
  }
  private flush(): void {
    while (!this.paused && this.data && this.pending.length > 0 && !this.closed) {
      this.data(this.pending.shift() as Uint8Array);
    }
    if (this.endPending && this.pending.length === 0 && !this.paused && !this.closed) {
      this.endPending = false;
      this.endHandler?.();
    }
  }
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeHandler?.(error);
  }
}

export function memoryPair(): [Duplex, Duplex] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}
