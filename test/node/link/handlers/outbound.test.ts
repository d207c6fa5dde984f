// What the edge sends on its own, without a broker: status recorded in a burst goes out in one
// flush shortly after; a flush publishes a bounded number of batches and stops when the session
// refuses one; nothing is scheduled or sent while disconnected.
import { describe, expect, test } from "bun:test";
import {
  flushStatus,
  scheduleFlush,
  sendHeartbeat,
  startHeartbeats,
} from "../../../../src/node/link/handlers/outbound.ts";
import type { Message } from "../../../../src/protocol/messages.ts";
import type { UsageReport } from "../../../../src/protocol/usage.ts";
import { edgeFixture, type FakeTimer, worker } from "./fixture.ts";

const workersIn = (messages: Message[]) =>
  messages.flatMap((m) => (m.type === "status" ? [m.workers.length] : []));

describe("status flush", () => {
  test("statuses recorded together go out in one batch, one timer for all", () => {
    const f = edgeFixture();
    for (const service of ["a", "b", "c"]) {
      f.outbox.record(worker(service, "Running"));
      scheduleFlush(f.ctx);
    }
    const timers = f.clock.pending();
    expect(timers.map((t) => t.ms)).toEqual([20]);
    expect(f.sent).toEqual([]);
    f.clock.fire(timers[0] as FakeTimer);
    expect(workersIn(f.takeUp())).toEqual([3]);
    expect(f.state.flushTimer).toBeUndefined();
  });

  test("while disconnected nothing is scheduled or sent (the connect resends all)", () => {
    const f = edgeFixture();
    f.connected.ready = false;
    f.outbox.record(worker("a", "Running"));
    scheduleFlush(f.ctx);
    flushStatus(f.ctx, true);
    expect(f.clock.pending()).toEqual([]);
    expect(f.outbox.unsent()).toBe(1);
  });

  test("one flush sends at most 20 batches of 500 workers", () => {
    const f = edgeFixture();
    f.store.tx(() => {
      for (let i = 0; i < 21 * 500; i++) f.outbox.record(worker("w", "Running", i));
    });
    flushStatus(f.ctx, false);
    expect(workersIn(f.takeUp())).toEqual(Array(20).fill(500));
    // The 21st batch was not taken: its rows are still unsent, and the next flush sends them.
    expect(f.outbox.unsent()).toBe(500);
    flushStatus(f.ctx, false);
    expect(workersIn(f.takeUp())).toEqual([500]);
  });

  test("a batch the session refuses ends the flush", () => {
    const f = edgeFixture();
    f.store.tx(() => {
      for (let i = 0; i < 501; i++) f.outbox.record(worker("w", "Running", i));
    });
    let calls = 0;
    const refusing = {
      ...f.ctx,
      publish: () => {
        calls++;
        return false;
      },
    };
    flushStatus(refusing, false);
    expect(calls).toBe(1);
  });
});

describe("heartbeat", () => {
  const heartbeats = (messages: Message[]) => messages.flatMap((m) => (m.type === "heartbeat" ? [m] : []));

  test("carries the usage the reporter has due, and none when it has none", () => {
    const f = edgeFixture();
    const usage = {
      sampledAt: "2030-01-01T00:00:00.000Z",
      windowSeconds: 10,
      node: { cpuMillicores: 250, memoryKiB: 1024, cpus: 2, memoryCapacityKiB: 4096 },
      workers: [{ service: "web", index: 0, cpuMillicores: 12, memoryKiB: 53_248 }],
    };
    const due = [usage, undefined];
    const asked: number[] = [];
    const ctx = {
      ...f.ctx,
      usage: {
        next: (nowMs: number) => {
          asked.push(nowMs);
          return due.shift();
        },
      },
    };
    startHeartbeats(ctx);
    const timer = f.clock.pending()[0] as FakeTimer;
    expect(timer.ms).toBe(5000);
    f.clock.fire(timer);
    f.clock.fire(timer);
    const [first, second] = heartbeats(f.takeUp());
    expect(first?.usage).toEqual(usage);
    expect(second && "usage" in second).toBe(false);
    expect(asked).toEqual([f.clock.ms, f.clock.ms]);
  });

  test("while disconnected the reporter is not asked (a due report waits for a heartbeat that goes out)", () => {
    const f = edgeFixture();
    let asked = 0;
    const ctx = { ...f.ctx, usage: { next: () => void asked++ } };
    f.connected.ready = false;
    startHeartbeats(ctx);
    f.clock.fire(f.clock.pending()[0] as FakeTimer);
    expect(asked).toBe(0);
  });

  test("a beat instead when the cloud reads them and there is nothing else to say (QoS 0)", () => {
    const f = edgeFixture();
    const unacked: Buffer[] = [];
    let usage: UsageReport | undefined;
    const ctx = {
      ...f.ctx,
      publishUnacked: (topic: string, payload: Buffer) => {
        unacked.push(payload);
        return f.ctx.publishUnacked(topic, payload);
      },
      usage: { next: () => usage },
    };
    f.state.beats = true;
    sendHeartbeat(ctx);
    const [first] = f.takeUp();
    expect(first).toEqual({ v: 1, node: "e1", type: "beat", e: "", r: 0 });
    expect(unacked.length).toBe(1);
    // Usage due, a refused plan, or status not yet acknowledged: a heartbeat carries it.
    usage = {
      sampledAt: "2030-01-01T00:00:00.000Z",
      windowSeconds: 10,
      node: { cpuMillicores: 1, memoryKiB: 1, cpus: 1, memoryCapacityKiB: 2 },
      workers: [],
    };
    sendHeartbeat(ctx);
    usage = undefined;
    f.state.refused = { epoch: "e", revision: 1, hash: "h", reason: "r" };
    sendHeartbeat(ctx);
    expect(f.takeUp().map((m) => m.type)).toEqual(["heartbeat", "heartbeat"]);
    // A cloud that did not say it reads beats gets heartbeats.
    f.state.refused = undefined;
    f.state.beats = false;
    sendHeartbeat(ctx);
    expect(f.takeUp().map((m) => m.type)).toEqual(["heartbeat"]);
    expect(unacked.length).toBe(1);
  });
});
