// Join tokens: expiry, use count, and only a hash at rest.
import { afterAll, describe, expect, test } from "bun:test";
import { consumeJoinToken, createJoinToken } from "../../src/cloud/join-tokens.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN, inProcessCloud } from "../harness/cloud-api.ts";
import { makeTempDir, runLevee } from "../harness/cluster.ts";

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

// A join token with any TTL (100000000h) would be a standing invitation to join the fleet.
describe("join token lifetimes are bounded", () => {
  const { store: apiStore, app } = inProcessCloud();
  afterAll(() => apiStore.close());
  const create = (ttl: string) =>
    app.request("/api/v1/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ ttl, uses: 1 }),
    });

  test("the API refuses a TTL past 7 days, naming the field and the limit", async () => {
    const res = await create("100000000h");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid token request",
      issues: [{ path: "ttl", message: expect.stringContaining("at most 168h (7 days)") }],
    });
    expect((await create("169h")).status).toBe(400);
    expect((await create("0s")).status).toBe(400);
    expect((await create("168h")).status).toBe(201);
  });

  test("the store refuses one too, whoever calls it", () => {
    expect(() => createJoinToken(apiStore, { ttlMs: 8 * 24 * 3_600_000, uses: 1 })).toThrow(/at most 168h/);
  });

  test("levee ctl token create refuses it before asking the cloud", async () => {
    const run = await runLevee([
      "ctl",
      "token",
      "create",
      "--ttl",
      "100000000h",
      "--server",
      "http://127.0.0.1:9",
      "--token",
      "x",
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("flag --ttl: must be at most 168h (7 days)");
  });
});
