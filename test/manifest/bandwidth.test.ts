import { expect, test } from "bun:test";
import { formatBandwidth, parseBandwidth } from "../../src/manifest/bandwidth.ts";

test("bandwidths parse with binary units, with or without /s", () => {
  expect(parseBandwidth("1MiB/s")).toEqual({ ok: true, bytesPerSecond: 1024 * 1024 });
  expect(parseBandwidth("512KiB/s")).toEqual({ ok: true, bytesPerSecond: 512 * 1024 });
  expect(parseBandwidth("2.5M")).toEqual({ ok: true, bytesPerSecond: 2.5 * 1024 * 1024 });
  expect(parseBandwidth("1048576")).toEqual({ ok: true, bytesPerSecond: 1048576 });
  expect(parseBandwidth(" 10 K / s ")).toEqual({ ok: true, bytesPerSecond: 10240 });
});

test("bad bandwidths say what is expected", () => {
  for (const bad of ["", "fast", "-1MiB/s", "1Mbit/s", "0", "0.1B/s"]) {
    const parsed = parseBandwidth(bad);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain("expected a bandwidth");
  }
});

test("bandwidths print back as they parse", () => {
  for (const text of ["1MiB/s", "512KiB/s", "2.5MiB/s", "1500B/s", "3GiB/s"]) {
    const parsed = parseBandwidth(text);
    expect(parsed.ok && formatBandwidth(parsed.bytesPerSecond)).toBe(text);
  }
});
