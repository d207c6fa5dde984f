// The edge link's connect and what it starts, without a broker: presence online stamped like the
// connection's will, a hello naming the stored plan, hello retries with a growing jittered delay
// until a welcome, heartbeats at the interval carrying the applied revision, and the outbox resent.
import { describe, expect, test } from "bun:test";
import { handleConnected } from "../../../../src/node/link/handlers/connected.ts";
import { handleWelcome } from "../../../../src/node/link/handlers/welcome.ts";
import { acceptPlan } from "../../../../src/node/link/plan-store.ts";
import { newMessage } from "../../../../src/protocol/messages.ts";
import { presenceTopic } from "../../../../src/protocol/topics.ts";
import { edgeFixture, type FakeTimer, NODE, worker } from "./fixture.ts";

const welcome = newMessage(NODE, { type: "welcome", epoch: "a", desiredRevision: 3, heartbeatSeconds: 5 });

describe("connected", () => {
  test("presence online (retained, with the connection's ts), hello, heartbeats, the outbox again", () => {
    const f = edgeFixture({ heartbeatSeconds: 7 });
    acceptPlan(f.store, { epoch: "a", revision: 3, hash: "hash-3", plan: {} });
    f.outbox.record(worker("web", "Running"));
    f.state.welcomed = true; // from the connection before
    handleConnected(f.ctx);

    const [presence, ...up] = f.sent;
    expect(presence).toMatchObject({ topic: presenceTopic(NODE), retain: true });
    expect(presence?.msg).toMatchObject({ type: "presence", online: true, ts: f.state.connectionTs });
    expect(up.map((s) => s.msg)).toEqual([
      expect.objectContaining({
        type: "hello",
        epoch: "a",
        appliedRevision: 3,
        planHash: "hash-3",
        agentVersion: "test-1",
        bootId: "boot-1",
        addresses: ["127.0.0.11"],
        packedPlans: true,
        compactAcks: true,
        leanPlans: true,
      }),
      expect.objectContaining({ type: "status", seq: 1 }),
    ]);
    expect(f.state.welcomed).toBe(false);
    const [retry, heartbeat] = f.clock.pending();
    expect(retry?.repeat).toBe(false);
    expect(retry?.ms).toBeGreaterThanOrEqual(1000);
    expect(retry?.ms).toBeLessThan(2000);
    expect(heartbeat).toMatchObject({ repeat: true, ms: 7000 });
  });

  test("a node without a plan says so in its hello", () => {
    const f = edgeFixture();
    handleConnected(f.ctx);
    expect(f.takeUp()).toEqual([
      expect.objectContaining({ type: "hello", epoch: null, appliedRevision: 0, planHash: null }),
    ]);
  });

  test("hello is asked again, each time later, until a welcome answers it", () => {
    const f = edgeFixture();
    handleConnected(f.ctx);
    f.takeUp();
    const retries = () => f.clock.pending().filter((t) => !t.repeat);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [next] = retries();
      delays.push((next as FakeTimer).ms);
      f.clock.fire(next as FakeTimer);
      expect(f.takeUp().map((m) => m.type)).toEqual(["hello"]);
    }
    expect(delays[1]).toBeGreaterThanOrEqual(2000);
    expect(delays[2]).toBeGreaterThanOrEqual(4000);
    handleWelcome(f.ctx, welcome);
    expect(retries()).toEqual([]);
  });

  test("a retry that comes due after a welcome or while disconnected asks nothing", () => {
    const f = edgeFixture();
    handleConnected(f.ctx);
    f.takeUp();
    const [retry] = f.clock.pending().filter((t) => !t.repeat);
    f.state.welcomed = true;
    f.clock.fire(retry as FakeTimer);
    expect(f.takeUp()).toEqual([]);
    expect(f.clock.pending().filter((t) => !t.repeat)).toEqual([]);
  });

  test("a heartbeat carries the applied revision and the outbox depth, and resends unacked status", () => {
    const f = edgeFixture();
    acceptPlan(f.store, { epoch: "a", revision: 3, hash: "hash-3", plan: {} });
    handleConnected(f.ctx);
    f.outbox.record(worker("web", "Running"));
    f.outbox.nextBatch(); // sent once, never acked
    f.takeUp();
    const heartbeat = f.clock.pending().find((t) => t.repeat) as FakeTimer;
    f.clock.fire(heartbeat);
    expect(f.takeUp()).toEqual([
      expect.objectContaining({ type: "heartbeat", epoch: "a", appliedRevision: 3, outboxDepth: 1 }),
      expect.objectContaining({ type: "status", workers: [expect.objectContaining({ service: "web" })] }),
    ]);
  });

  test("a connection going down stops every timer", () => {
    const f = edgeFixture();
    handleConnected(f.ctx);
    expect(f.clock.pending()).toHaveLength(2);
    f.state.stopTimers();
    expect(f.clock.pending()).toEqual([]);
  });
});
