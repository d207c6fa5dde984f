// Dashboard sessions: live until logout, idle expiry or the longest life; bounded; ids stored hashed.
import { describe, expect, test } from "bun:test";
import { DashboardSessions } from "../../../src/cloud/dashboard/sessions.ts";

describe("dashboard sessions", () => {
  test("a session lives until logout; another id is no session", () => {
    const sessions = new DashboardSessions();
    const id = sessions.create();
    expect(id.length).toBeGreaterThanOrEqual(40);
    expect(sessions.touch(id)).toBe(true);
    expect(sessions.touch(`${id}x`)).toBe(false);
    expect(sessions.touch(undefined)).toBe(false);
    expect(sessions.touch("a".repeat(10_000))).toBe(false);
    sessions.end(id);
    expect(sessions.touch(id)).toBe(false);
  });

  test("idle sessions end; used ones live on until the longest life", () => {
    let now = 0;
    const sessions = new DashboardSessions({ idleMs: 1000, maxMs: 5000, now: () => now });
    const idle = sessions.create();
    const busy = sessions.create();
    for (now = 500; now <= 4500; now += 500) expect(sessions.touch(busy)).toBe(true);
    expect(sessions.touch(idle)).toBe(false);
    now = 5001;
    expect(sessions.touch(busy)).toBe(false);
    expect(sessions.count()).toBe(0);
  });

  test("the number of sessions is bounded: the oldest goes first", () => {
    const sessions = new DashboardSessions({ maxSessions: 3 });
    const ids = [1, 2, 3, 4].map(() => sessions.create());
    expect(sessions.touch(ids[0])).toBe(false);
    for (const id of ids.slice(1)) expect(sessions.touch(id)).toBe(true);
    expect(sessions.count()).toBe(3);
  });

  test("the store holds hashes, never an id a browser presents", () => {
    const sessions = new DashboardSessions();
    const id = sessions.create();
    const keys = [...(sessions as unknown as { sessions: Map<string, unknown> }).sessions.keys()];
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toBe(id);
    expect(sessions.touch(keys[0])).toBe(false);
  });
});
