// The agent's mesh threads, seen from the main thread: with --mesh-threads N, N-1 Bun Workers
// (mesh-thread.ts) open this node's service and upstream ports next to the main thread's own
// listeners, all with SO_REUSEPORT, so the kernel spreads the connections over N cores. The main
// thread keeps its listeners (a port is never lost: if a thread cannot listen or dies, the others
// still accept), the forward proxy, the tunnel listener and the fast path. Each thread routes with
// the state posted here on every refresh (the catalog, this node's workers, the TLS credentials)
// and balances on its own, as HAProxy's threads do with their per-thread counts; its counters come
// back as deltas (thread-counts.ts), and before a /metrics scrape every thread is asked for them.
// A thread that dies is started again after a backoff (1 s, doubling to 30 s; back to 1 s after it
// ran for a minute), and logged. The state is also posted every minute (a renewed certificate).
import type { Logger } from "../../runtime/log.ts";
import {
  decodeFromThread,
  THREAD_MESSAGES_VERSION,
  type ThreadInit,
  type ThreadState,
  type ToThread,
} from "./messages.ts";
import type { ThreadCounts } from "./thread-counts.ts";

/** The main thread's end of one thread (a Bun Worker; a fake in tests). */
export interface ThreadPort {
  post(message: ToThread): void;
  onMessage(handler: (data: unknown) => void): void;
  /** The thread ended or failed (called at most once). */
  onExit(handler: (reason: string) => void): void;
  terminate(): void;
}

export interface Backoff {
  firstMs: number;
  maxMs: number;
  /** A thread that ran this long starts again at firstMs. */
  resetAfterMs: number;
}

export interface MeshThreadsOptions {
  /** Threads besides the main thread (--mesh-threads minus one). */
  extra: number;
  init: Omit<ThreadInit, "v" | "type" | "thread">;
  /** The routing state now (posted at a thread's start and on every update). */
  state: () => ThreadState;
  counts: ThreadCounts;
  log: Logger;
  spawn?: () => ThreadPort;
  backoff?: Backoff;
  /** How long a flush waits for the threads' answers. Default 250 ms. */
  flushTimeoutMs?: number;
  /** How long stop() waits for the threads to close their listeners. Default 1000 ms. */
  stopTimeoutMs?: number;
  /**
   * The state is posted again this often even without a refresh (a renewed certificate reaches the
   * threads without a catalog or worker change). Default 60 s.
   */
  resendEveryMs?: number;
  now?: () => number;
}

const DEFAULT_BACKOFF: Backoff = { firstMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

interface Slot {
  thread: number;
  port: ThreadPort | undefined;
  startedAt: number;
  delayMs: number;
  restart: ReturnType<typeof setTimeout> | undefined;
}

interface Flush {
  id: number;
  waiting: Set<number>;
  done: () => void;
}

export class MeshThreads {
  private readonly slots: Slot[] = [];
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private flushes: Flush[] = [];
  private nextFlush = 1;
  private stopping = false;
  private readonly stopped = new Map<number, () => void>();
  private resend: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: MeshThreadsOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    for (let thread = 1; thread <= this.options.extra; thread++) {
      const slot: Slot = {
        thread,
        port: undefined,
        startedAt: 0,
        delayMs: this.backoff.firstMs,
        restart: undefined,
      };
      this.slots.push(slot);
      this.launch(slot);
    }
    this.resend = setInterval(() => this.update(), this.options.resendEveryMs ?? 60_000);
    this.resend.unref?.();
  }

  /** How many threads run now (the main thread not counted). */
  get running(): number {
    return this.slots.filter((s) => s.port !== undefined).length;
  }

  /** The routing state changed: every thread gets it. */
  update(): void {
    const state = this.options.state();
    for (const slot of this.slots) slot.port?.post(state);
  }

  /** Every running thread posts its counters; resolves when all did (or after the timeout). */
  flush(): Promise<void> {
    const live = this.slots.filter((s) => s.port !== undefined);
    if (live.length === 0) return Promise.resolve();
    const id = this.nextFlush++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), this.options.flushTimeoutMs ?? 250);
      const finish = () => {
        clearTimeout(timer);
        this.flushes = this.flushes.filter((f) => f.id !== id);
        resolve();
      };
      this.flushes.push({ id, waiting: new Set(live.map((s) => s.thread)), done: finish });
      for (const slot of live) slot.port?.post({ v: THREAD_MESSAGES_VERSION, type: "flush", id });
    });
  }

  /** Every thread closes its listeners and posts its last counters; then they are ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resend);
    const live = this.slots.filter((s) => s.port !== undefined);
    for (const slot of this.slots) clearTimeout(slot.restart);
    await Promise.all(
      live.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.stopTimeoutMs ?? 1000);
            this.stopped.set(slot.thread, () => {
              clearTimeout(timer);
              resolve();
            });
            slot.port?.post({ v: THREAD_MESSAGES_VERSION, type: "stop" });
          }),
      ),
    );
    for (const slot of this.slots) {
      const port = slot.port;
      slot.port = undefined;
      port?.terminate();
      this.options.counts.forget(slot.thread);
    }
  }

  private launch(slot: Slot): void {
    const { options } = this;
    slot.restart = undefined;
    let port: ThreadPort;
    try {
      port = (options.spawn ?? spawnMeshThread)();
    } catch (error) {
      this.exited(slot, undefined, `cannot start: ${(error as Error).message}`);
      return;
    }
    slot.port = port;
    slot.startedAt = this.now();
    port.onMessage((data) => this.received(slot, port, data));
    port.onExit((reason) => this.exited(slot, port, reason));
    port.post({ v: THREAD_MESSAGES_VERSION, type: "init", thread: slot.thread, ...options.init });
    port.post(options.state());
  }

  private received(slot: Slot, port: ThreadPort, data: unknown): void {
    if (slot.port !== port) return;
    const message = decodeFromThread(data);
    if (!message) {
      this.options.log.warn("mesh thread sent a message that does not decode", { thread: slot.thread });
      return;
    }
    if (message.type === "log") {
      this.options.log[message.level](message.msg, { ...message.fields, thread: slot.thread });
      return;
    }
    this.options.counts.apply(slot.thread, message.counts);
    if (message.type === "stopped") {
      this.stopped.get(slot.thread)?.();
      return;
    }
    if (message.flush !== undefined) this.answered(slot.thread, message.flush);
  }

  /** `thread` answered flush `id` (undefined: every flush, the thread is gone). */
  private answered(thread: number, id?: number): void {
    for (const flush of this.flushes) {
      if (id !== undefined && flush.id !== id) continue;
      flush.waiting.delete(thread);
      if (flush.waiting.size === 0) flush.done();
    }
  }

  private exited(slot: Slot, port: ThreadPort | undefined, reason: string): void {
    if (port !== undefined && slot.port !== port) return;
    slot.port = undefined;
    port?.terminate();
    this.options.counts.forget(slot.thread);
    this.stopped.get(slot.thread)?.();
    this.answered(slot.thread);
    if (this.stopping) return;
    if (port !== undefined && this.now() - slot.startedAt >= this.backoff.resetAfterMs) {
      slot.delayMs = this.backoff.firstMs;
    }
    const delayMs = slot.delayMs;
    slot.delayMs = Math.min(this.backoff.maxMs, slot.delayMs * 2);
    this.options.log.error("mesh thread stopped; starting it again", {
      thread: slot.thread,
      reason,
      inMs: delayMs,
    });
    slot.restart = setTimeout(() => this.launch(slot), delayMs);
  }
}

/**
 * Where the thread's code is: next to this file when levee runs from source; in the compiled
 * binary, the extra entry point build/build.ts adds (paths there are relative to src/).
 */
export function meshThreadEntry(moduleUrl = import.meta.url): string {
  if (moduleUrl.startsWith("file:///$bunfs/") || moduleUrl.startsWith("/$bunfs/")) {
    return "/$bunfs/root/mesh/threads/mesh-thread.js";
  }
  return new URL("./mesh-thread.ts", moduleUrl).href;
}

/** A mesh thread as a Bun Worker. */
export function spawnMeshThread(): ThreadPort {
  const worker = new Worker(meshThreadEntry());
  worker.unref();
  let exitHandler: ((reason: string) => void) | undefined;
  let gone = false;
  const exit = (reason: string) => {
    if (gone) return;
    gone = true;
    exitHandler?.(reason);
  };
  worker.addEventListener("error", (event) => exit(`error: ${event.message}`));
  worker.addEventListener("close", () => exit("exited"));
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.addEventListener("message", (event) => handler(event.data)),
    onExit: (handler) => {
      exitHandler = handler;
    },
    terminate: () => {
      gone = true;
      worker.terminate();
    },
  };
}
