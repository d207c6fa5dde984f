// Failed logins are limited per client and in total, for a window.
import { describe, expect, test } from "bun:test";
import { LoginLimiter } from "../../../src/cloud/dashboard/login-limiter.ts";

describe("login limiter", () => {
  test("a client over its failures waits until its window ends; others may still try", () => {
    let now = 0;
    const limiter = new LoginLimiter({ windowMs: 60_000, perClient: 3, total: 100, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterSeconds("a")).toBe(0);
      limiter.failed("a");
    }
    expect(limiter.retryAfterSeconds("a")).toBe(60);
    expect(limiter.retryAfterSeconds("b")).toBe(0);
    now = 30_000;
    expect(limiter.retryAfterSeconds("a")).toBe(30);
    now = 60_000;
    expect(limiter.retryAfterSeconds("a")).toBe(0);
  });

  test("failures from many clients together hit the total", () => {
    let now = 0;
    const limiter = new LoginLimiter({ windowMs: 10_000, perClient: 5, total: 4, now: () => now });
    for (const client of ["a", "b", "c", "d"]) limiter.failed(client);
    expect(limiter.retryAfterSeconds("e")).toBe(10);
    now = 10_000;
    expect(limiter.retryAfterSeconds("e")).toBe(0);
  });

  test("the clients remembered are bounded", () => {
    const limiter = new LoginLimiter({ perClient: 1, total: 1_000_000, maxClients: 10 });
    for (let i = 0; i < 100; i++) limiter.failed(`client-${i}`);
    expect((limiter as unknown as { clients: Map<string, unknown> }).clients.size).toBe(10);
    expect(limiter.retryAfterSeconds("client-99")).toBeGreaterThan(0);
  });
});
