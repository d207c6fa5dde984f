// `--since`: durations back from now and RFC 3339 times; anything else is refused with the forms
// that are accepted.
import { describe, expect, test } from "bun:test";
import { parseDuration, parseSince } from "../../src/protocol/log-since.ts";

describe("--since", () => {
  const now = new Date("2026-05-01T12:00:00.000Z");

  test("a duration counts back from now, units combined", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("250ms")).toBe(250);
    const since = parseSince("5m", now);
    expect(since.ok && since.time.toISOString()).toBe("2026-05-01T11:55:00.000Z");
  });

  test("an RFC 3339 time is taken as it is, with its zone", () => {
    const utc = parseSince("2026-05-01T10:00:00Z", now);
    expect(utc.ok && utc.time.toISOString()).toBe("2026-05-01T10:00:00.000Z");
    const zoned = parseSince("2026-05-01T10:00:00.5+02:00", now);
    expect(zoned.ok && zoned.time.toISOString()).toBe("2026-05-01T08:00:00.500Z");
  });

  test("anything else is refused, naming what is accepted", () => {
    for (const bad of ["", "5", "5x", "-5m", "yesterday", "2026-05-01", "2026-05-01T10:00:00", "1h 30m"]) {
      const since = parseSince(bad, now);
      expect(since.ok).toBe(false);
      if (!since.ok) expect(since.error).toContain("expected a duration");
    }
  });
});
