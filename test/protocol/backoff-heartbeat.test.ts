// Reconnect backoff (full jitter within bounds) and heartbeat / node phase decisions.
import { describe, expect, test } from "bun:test";
import {
  decideNodePhase,
  heartbeatSeconds,
  isBehind,
  type PhaseInput,
  planResendDue,
} from "../../src/protocol/heartbeat.ts";
import { Backoff, backoffCeiling, backoffDelay } from "../../src/runtime/backoff.ts";

describe("backoff", () => {
  const opts = { baseMs: 1000, capMs: 60_000 };

  test("ceiling doubles from base up to the cap", () => {
    expect([0, 1, 2, 3, 5, 6, 7, 100].map((a) => backoffCeiling(a, opts))).toEqual([
      1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  test("full jitter: the delay spans [0, ceiling)", () => {
    expect(backoffDelay(3, { ...opts, random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { ...opts, random: () => 0.5 })).toBe(4000);
    expect(backoffDelay(3, { ...opts, random: () => 0.999999 })).toBeLessThan(8000);
    expect(backoffDelay(30, { ...opts, random: () => 0.999999 })).toBeLessThan(60_000);
  });

  test("real randomness stays within bounds and is spread out", () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(10, opts));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(60_000);
    // Not in lockstep: a wide spread (full jitter, not ±25 %).
    expect(Math.min(...delays)).toBeLessThan(10_000);
    expect(Math.max(...delays)).toBeGreaterThan(50_000);
  });

  test("Backoff counts attempts and resets", () => {
    const b = new Backoff({ ...opts, random: () => 0.5 });
    expect([b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(500);
  });
});

describe("heartbeat", () => {
  test("interval scales with the fleet: at most ~50 heartbeats/s", () => {
    expect(heartbeatSeconds(0)).toBe(5);
    expect(heartbeatSeconds(250)).toBe(5);
    expect(heartbeatSeconds(251)).toBe(6);
    expect(heartbeatSeconds(1000)).toBe(20);
    expect(heartbeatSeconds(10_000)).toBe(200);
  });

  const base: PhaseInput = {
    online: true,
    lastSeenMs: 100_000,
    nowMs: 100_000,
    heartbeatSeconds: 5,
    lostAfterMs: null,
    phase: "Disconnected",
    sinceMs: 0,
  };

  test("online with fresh heartbeats → Ready", () => {
    expect(decideNodePhase(base)).toEqual({ phase: "Ready", sinceMs: 100_000, changed: true });
    expect(decideNodePhase({ ...base, phase: "Ready", sinceMs: 5 })).toEqual({
      phase: "Ready",
      sinceMs: 5,
      changed: false,
    });
    expect(decideNodePhase({ ...base, phase: "Lost", nowMs: 114_000 }).phase).toBe("Ready");
  });

  test("presence offline or 3 silent intervals → Disconnected", () => {
    const ready = { ...base, phase: "Ready" as const, sinceMs: 1 };
    expect(decideNodePhase({ ...ready, online: false })).toEqual({
      phase: "Disconnected",
      sinceMs: 100_000,
      changed: true,
    });
    expect(decideNodePhase({ ...ready, nowMs: 115_000 }).phase).toBe("Ready");
    expect(decideNodePhase({ ...ready, nowMs: 115_001 }).phase).toBe("Disconnected");
    expect(decideNodePhase({ ...ready, lastSeenMs: null }).phase).toBe("Disconnected");
  });

  test("Lost only after lostAfter in Disconnected; never by default", () => {
    const disc = { ...base, online: false, phase: "Disconnected" as const, sinceMs: 50_000 };
    expect(decideNodePhase({ ...disc, nowMs: 10_000_000 }).changed).toBe(false);
    expect(decideNodePhase({ ...disc, lostAfterMs: 60_000, nowMs: 109_999 }).changed).toBe(false);
    expect(decideNodePhase({ ...disc, lostAfterMs: 60_000, nowMs: 110_000 })).toEqual({
      phase: "Lost",
      sinceMs: 110_000,
      changed: true,
    });
    expect(decideNodePhase({ ...disc, phase: "Lost", lostAfterMs: 1 }).changed).toBe(false);
    // Ready never jumps straight to Lost.
    expect(decideNodePhase({ ...disc, phase: "Ready", lostAfterMs: 0 }).phase).toBe("Disconnected");
  });
});

describe("plan resend (digest)", () => {
  test("behind: another epoch, or another revision in ours", () => {
    const desired = { epoch: "e", revision: 4 };
    expect(isBehind(desired, { epoch: "e", revision: 4 })).toBe(false);
    expect(isBehind(desired, { epoch: "e", revision: 3 })).toBe(true);
    expect(isBehind(desired, { epoch: "e", revision: 5 })).toBe(true);
    expect(isBehind(desired, { epoch: "old", revision: 4 })).toBe(true);
    expect(isBehind(desired, { epoch: null, revision: 0 })).toBe(true);
  });

  test("resent when never sent or sent a heartbeat ago, not sooner", () => {
    expect(planResendDue(null, 1000, 5)).toBe(true);
    expect(planResendDue(0, 4999, 5)).toBe(false);
    expect(planResendDue(0, 5000, 5)).toBe(true);
  });
});

describe("brokerAddress", () => {
  test("parses broker URLs without url.parse, with default ports and IPv6", async () => {
    const { brokerAddress } = await import("../../src/protocol/mqtt-session.ts");
    expect(brokerAddress("mqtt://127.0.0.10:1883")).toEqual({
      protocol: "mqtt",
      host: "127.0.0.10",
      port: 1883,
    });
    expect(brokerAddress("mqtts://broker.local")).toEqual({
      protocol: "mqtts",
      host: "broker.local",
      port: 8883,
    });
    expect(brokerAddress("tcp://[::1]:18830")).toEqual({ protocol: "mqtt", host: "::1", port: 18830 });
    expect(() => brokerAddress("http://x")).toThrow("unsupported broker URL scheme http:");
  });
});
