// The main thread's side of the mesh threads, with fake threads: each gets its init and the routing
// state first and every update after; a flush waits for every thread's counters (or its timeout); a
// thread that dies is logged and started again after a doubling backoff, its in-flight counts
// dropped; stop() has every thread close and post its last counters, then ends them, and nothing is
// restarted after. The messages decode only with their version.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Registry } from "prom-client";
import { MeshMetrics } from "../../../src/mesh/routing/metrics.ts";
import {
  decodeFromThread,
  decodeToThread,
  stateMessage,
  THREAD_MESSAGES_VERSION,
  type ToThread,
} from "../../../src/mesh/threads/messages.ts";
import { ThreadCounts } from "../../../src/mesh/threads/thread-counts.ts";
import { MeshThreads, meshThreadEntry, type ThreadPort } from "../../../src/mesh/threads/threads.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const EMPTY = { cells: [], events: [], accepted: 0 };

class FakeThread implements ThreadPort {
  readonly received: ToThread[] = [];
  terminated = false;
  private message: ((data: unknown) => void) | undefined;
  private exit: ((reason: string) => void) | undefined;
  /** Answers flushes and stops as a thread does (unless silent). */
  silent = false;

  post(message: ToThread): void {
    this.received.push(message);
    if (this.silent) return;
    if (message.type === "flush") {
      queueMicrotask(() =>
        this.send({
          v: THREAD_MESSAGES_VERSION,
          type: "counts",
          counts: { ...EMPTY, accepted: 1 },
          flush: message.id,
        }),
      );
    }
    if (message.type === "stop")
      queueMicrotask(() => this.send({ v: THREAD_MESSAGES_VERSION, type: "stopped", counts: EMPTY }));
  }
  onMessage(handler: (data: unknown) => void): void {
    this.message = handler;
  }
  onExit(handler: (reason: string) => void): void {
    this.exit = handler;
  }
  terminate(): void {
    this.terminated = true;
  }
  send(data: unknown): void {
    this.message?.(data);
  }
  die(reason: string): void {
    this.exit?.(reason);
  }
}

function setup(extra: number, resendEveryMs = 60_000) {
  const backoff = { firstMs: 20, maxMs: 80, resetAfterMs: 60_000 };
  const spawned: FakeThread[] = [];
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", format: "json", write: (line) => lines.push(JSON.parse(line)) });
  const registry = new Registry();
  const metrics = new MeshMetrics(registry);
  let revision = 1;
  const threads = new MeshThreads({
    extra,
    init: {
      node: "edge1",
      bindHost: "127.0.0.1",
      loopbackHost: "127.0.0.1",
      relayOnly: false,
      tunnelPort: 7402,
      debug: false,
      countsEveryMs: 1000,
    },
    state: () =>
      stateMessage(
        { v: 1, revision, epoch: "e", nodes: [], services: [] },
        [{ service: "api", index: 0, port: 1, ready: true }],
        undefined,
      ),
    counts: new ThreadCounts(metrics),
    log,
    spawn: () => {
      const thread = new FakeThread();
      spawned.push(thread);
      return thread;
    },
    backoff,
    flushTimeoutMs: 50,
    stopTimeoutMs: 50,
    resendEveryMs,
  });
  return { threads, spawned, lines, registry, bump: () => revision++ };
}

const revisionOf = (m: ToThread | undefined) => (m?.type === "state" ? m.catalog?.revision : undefined);

describe("MeshThreads", () => {
  test("each thread gets its init and the state, then every update", () => {
    const { threads, spawned, bump } = setup(2);
    threads.start();
    expect(spawned).toHaveLength(2);
    expect(threads.running).toBe(2);
    expect(spawned.map((t) => t.received[0]?.type === "init" && t.received[0].thread)).toEqual([1, 2]);
    expect(spawned.map((t) => revisionOf(t.received[1]))).toEqual([1, 1]);
    bump();
    threads.update();
    expect(spawned.map((t) => revisionOf(t.received[2]))).toEqual([2, 2]);
    void threads.stop();
  });

  test("the state is posted again periodically (a renewed certificate reaches the threads)", async () => {
    const { threads, spawned } = setup(1, 30);
    threads.start();
    await Bun.sleep(45);
    expect(spawned[0]?.received.filter((m) => m.type === "state")).toHaveLength(2);
    await threads.stop();
  });

  test("a flush waits for every thread's counters; a silent thread only until the timeout", async () => {
    const { threads, spawned, registry } = setup(2);
    threads.start();
    await threads.flush();
    expect(await registry.metrics()).toContain('levee_mesh_thread_connections_total{thread="2"} 1');
    (spawned[1] as FakeThread).silent = true;
    const started = performance.now();
    await threads.flush();
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
  });

  test("a thread that dies is logged and started again after a doubling backoff", async () => {
    const { threads, spawned, lines } = setup(1);
    threads.start();
    (spawned[0] as FakeThread).die("error: boom");
    expect(threads.running).toBe(0);
    expect(lines.at(-1)).toMatchObject({
      level: "error",
      msg: "mesh thread stopped; starting it again",
      thread: 1,
      inMs: 20,
    });
    await Bun.sleep(40);
    expect(spawned).toHaveLength(2);
    expect(threads.running).toBe(1);
    expect(spawned[1]?.received.map((m) => m.type)).toEqual(["init", "state"]);
    (spawned[1] as FakeThread).die("exited");
    expect(lines.at(-1)).toMatchObject({ inMs: 40 });
    await Bun.sleep(60);
    expect(spawned).toHaveLength(3);
  });

  test("log lines of a thread carry its number; undecodable messages are reported", () => {
    const { threads, spawned, lines } = setup(1);
    threads.start();
    spawned[0]?.send({
      v: THREAD_MESSAGES_VERSION,
      type: "log",
      level: "warn",
      msg: "hello",
      fields: { a: 1 },
    });
    expect(lines.at(-1)).toMatchObject({ level: "warn", msg: "hello", a: 1, thread: 1 });
    spawned[0]?.send({ v: 99, type: "log", level: "warn", msg: "hello", fields: {} });
    expect(lines.at(-1)).toMatchObject({ msg: "mesh thread sent a message that does not decode" });
  });

  test("stop: every thread closes and posts its last counters, then is ended; no restart after", async () => {
    const { threads, spawned } = setup(2);
    threads.start();
    (spawned[1] as FakeThread).silent = true;
    await threads.stop();
    expect(spawned.map((t) => t.received.at(-1)?.type)).toEqual(["stop", "stop"]);
    expect(spawned.every((t) => t.terminated)).toBe(true);
    expect(threads.running).toBe(0);
    spawned[0]?.die("exited");
    await Bun.sleep(40);
    expect(spawned).toHaveLength(2);
  });

  test("the thread's code: next to the module from source, the extra entry point in the binary", () => {
    expect(meshThreadEntry("file:///repo/src/mesh/threads/threads.ts")).toBe(
      "file:///repo/src/mesh/threads/mesh-thread.ts",
    );
    expect(meshThreadEntry("file:///$bunfs/root/levee-linux-x64")).toBe(
      "/$bunfs/root/mesh/threads/mesh-thread.js",
    );
  });
});

describe("thread messages", () => {
  test("decode only with their version and shape", () => {
    expect(decodeToThread({ v: THREAD_MESSAGES_VERSION, type: "flush", id: 3 })).toEqual({
      v: 1,
      type: "flush",
      id: 3,
    });
    expect(decodeToThread({ v: 2, type: "flush", id: 3 })).toBeUndefined();
    expect(decodeToThread({ v: THREAD_MESSAGES_VERSION, type: "flush" })).toBeUndefined();
    expect(decodeToThread({ v: THREAD_MESSAGES_VERSION, type: "nope" })).toBeUndefined();
    expect(decodeToThread(null)).toBeUndefined();
    expect(
      decodeFromThread({ v: THREAD_MESSAGES_VERSION, type: "counts", counts: { cells: [] } }),
    ).toBeUndefined();
    expect(decodeFromThread({ v: THREAD_MESSAGES_VERSION, type: "stopped", counts: EMPTY })).toBeDefined();
  });

  test("the decoders never throw, whatever arrives", () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.constantFrom("init", "state", "flush", "stop", "counts", "log", "stopped"),
        (value, type) => {
          for (const data of [
            value,
            { v: THREAD_MESSAGES_VERSION, type, ...(typeof value === "object" ? value : {}) },
          ]) {
            decodeToThread(data);
            decodeFromThread(data);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test("the state message is plain data: only the fields a thread routes with", () => {
    const local = [{ service: "api", index: 0, port: 1, ready: true, extra: "x" }];
    const tls = { node: "edge1", ca: "CA", cert: "CERT", key: "KEY", more: 1 };
    const message = stateMessage(undefined, local, tls);
    expect(message).toEqual({
      v: THREAD_MESSAGES_VERSION,
      type: "state",
      catalog: null,
      local: [{ service: "api", index: 0, port: 1, ready: true }],
      tls: { node: "edge1", ca: "CA", cert: "CERT", key: "KEY" },
    });
    expect(decodeToThread(structuredClone(message))).toEqual(message);
  });
});
