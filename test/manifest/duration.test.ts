// The duration parser.
import { describe, expect, test } from "bun:test";
import { durationMs, formatDuration, parseDuration, roundedDuration } from "../../src/manifest/duration.ts";

describe("parseDuration", () => {
  test("units and sums", () => {
    expect(durationMs("500ms")).toBe(500);
    expect(durationMs("10s")).toBe(10_000);
    expect(durationMs("5m")).toBe(300_000);
    expect(durationMs("1h")).toBe(3_600_000);
    expect(durationMs("1m30s")).toBe(90_000);
    expect(durationMs("1.5s")).toBe(1500);
    expect(durationMs("0s")).toBe(0);
  });

  test("clear errors", () => {
    const message = (text: string) => {
      const result = parseDuration(text);
      return result.ok ? "" : result.message;
    };
    expect(message("10")).toBe('missing unit in "10": use ms, s, m or h (did you mean "10s"?)');
    expect(message("7d")).toMatch(/^unknown unit "d" in "7d": use ms, s, m or h/);
    expect(message("")).toMatch(/^expected a duration, e\.g\. "500ms"/);
    expect(message("-5s")).toMatch(/got "-5s"$/);
    expect(message("10 s")).toMatch(/got "10 s"$/);
    expect(() => durationMs("soon")).toThrow(/expected a duration/);
  });

  test("roundedDuration: what matters of a duration, for people", () => {
    expect([500.4, 1000, 1540, 9960, 15_544, 272_300, 3_600_400].map(roundedDuration)).toEqual([
      "500ms",
      "1s",
      "1.5s",
      "10s",
      "16s",
      "4m32s",
      "1h",
    ]);
  });

  test("formatDuration is the inverse for whole units", () => {
    for (const text of ["500ms", "10s", "5m", "1h", "1m30s", "1h1m1s1ms", "0s"]) {
      expect(formatDuration(durationMs(text))).toBe(text);
    }
  });
});
