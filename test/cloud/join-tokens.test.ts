// Join tokens: expiry, use count, and only a hash at rest.
import { afterAll, describe, expect, test } from "bun:test";
import { consumeJoinToken, createJoinToken } from "../../src/cloud/join-tokens.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
afterAll(() => store.close());

describe("join tokens", () => {
  test("a token works as many times as it has uses, then says it is used up", () => {
    const t = createJoinToken(store, { ttlMs: 60_000, uses: 2 });
    expect(consumeJoinToken(store, t.token)).toEqual({ ok: true, id: t.id });
    expect(consumeJoinToken(store, t.token)).toEqual({ ok: true, id: t.id });
    expect(consumeJoinToken(store, t.token)).toEqual({ ok: false, reason: `join token ${t.id} is used up` });
  });

  test("an expired token says when it expired", () => {
    const t = createJoinToken(store, { ttlMs: 1000, uses: 5, now: new Date("2026-01-01T00:00:00Z") });
    expect(consumeJoinToken(store, t.token, new Date("2026-01-01T00:00:02Z"))).toEqual({
      ok: false,
      reason: `join token ${t.id} expired at 2026-01-01T00:00:01.000Z`,
    });
  });

  test("unknown, tampered and malformed tokens are refused", () => {
    const t = createJoinToken(store, { ttlMs: 60_000, uses: 1 });
    const tampered = `${t.token.slice(0, -1)}${t.token.endsWith("A") ? "B" : "A"}`;
    expect(consumeJoinToken(store, tampered)).toEqual({ ok: false, reason: "unknown join token" });
    expect(consumeJoinToken(store, "hello").ok).toBe(false);
    expect(consumeJoinToken(store, t.token).ok).toBe(true);
  });

  test("the secret is not stored", () => {
    const t = createJoinToken(store, { ttlMs: 60_000, uses: 1 });
    const secret = t.token.split(".")[1] ?? "";
    const rows = store.db.query("SELECT * FROM join_tokens").all();
    expect(JSON.stringify(rows)).not.toContain(secret);
  });
});
