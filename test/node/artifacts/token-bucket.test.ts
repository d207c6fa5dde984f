import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BandwidthLimit, effectiveCap } from "../../../src/node/artifacts/bandwidth-limit.ts";
import { burstFor, TokenBucket } from "../../../src/node/artifacts/token-bucket.ts";

const MiB = 1024 * 1024;

/** A consumer that sends chunks as fast as the bucket lets it: the bytes sent by time `endMs`. */
function greedy(
  rate: number,
  burst: number,
  chunks: readonly number[],
  endMs: number,
): { sent: number; at: number } {
  const bucket = new TokenBucket(rate, burst, 0);
  let now = 0;
  let sent = 0;
  for (let i = 0; now < endMs; i++) {
    const n = chunks[i % chunks.length] as number;
    now += bucket.reserve(n, now);
    if (now > endMs) break;
    sent += n;
  }
  return { sent, at: now };
}

describe("TokenBucket", () => {
  test("a full bucket lets one burst through at once, then waits by the rate", () => {
    const bucket = new TokenBucket(1000, 500, 0);
    expect(bucket.reserve(500, 0)).toBe(0);
    expect(bucket.reserve(1000, 0)).toBe(1000); // 1000 bytes in debt at 1000 B/s
    expect(bucket.reserve(0, 1000)).toBe(0);
  });

  test("idle time saves up at most one burst", () => {
    const bucket = new TokenBucket(1000, 500, 0);
    expect(bucket.reserve(500, 0)).toBe(0);
    expect(bucket.reserve(500, 60_000)).toBe(0);
    expect(bucket.reserve(250, 60_000)).toBe(250);
  });

  test("a new rate applies from then on", () => {
    const bucket = new TokenBucket(1000, 100, 0);
    bucket.reserve(100, 0);
    bucket.setRate(100, 0);
    expect(bucket.reserve(100, 0)).toBe(1000);
  });

  test("1 MiB/s over 10 s with 64 KiB reads: within 1 % of the cap", () => {
    const { sent } = greedy(MiB, burstFor(MiB), [64 * 1024], 10_000);
    expect(Math.abs(sent / 10 - MiB) / MiB).toBeLessThan(0.01);
  });

  test("a rate or burst of 0 is refused", () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(RangeError);
  });

  test("property: over any run, the bytes sent stay within rate × time + one burst, and a greedy sender gets the rate", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 100 * 1024 * 1024 }),
        // Chunks as fractions of a second's bytes (1 ms to 500 ms of data): the run stays bounded.
        fc.array(fc.double({ min: 0.001, max: 0.5, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 10_000, max: 60_000 }),
        (rate, fractions, endMs) => {
          const chunks = fractions.map((f) => Math.max(1, Math.floor(rate * f)));
          const burst = burstFor(rate);
          const { sent } = greedy(rate, burst, chunks, endMs);
          const seconds = endMs / 1000;
          expect(sent).toBeLessThanOrEqual(rate * seconds + burst + 1e-6);
          // Greedy: short of the allowance by at most one chunk.
          const largest = Math.max(...chunks);
          expect(sent).toBeGreaterThanOrEqual(rate * seconds - largest);
          // Long run (≥ 10 s): within 10 % of the cap, plus the one burst spread over the run
          // (16 KiB at least: at 1 KiB/s that is 16 s of bytes; at 1 MiB/s, 0.1 s).
          expect(Math.abs(sent / seconds - rate)).toBeLessThanOrEqual(0.1 * rate + burst / seconds);
          if (burst <= 0.1 * rate * seconds)
            expect(Math.abs(sent / seconds - rate)).toBeLessThanOrEqual(0.2 * rate);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("property: concurrent consumers of one bucket share the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 10 * 1024 * 1024 }),
        fc.array(fc.double({ min: 0.001, max: 0.5, noNaN: true }), { minLength: 2, maxLength: 8 }),
        (rate, fractions) => {
          const chunkOf = fractions.map((f) => Math.max(1, Math.floor(rate * f)));
          const bucket = new TokenBucket(rate, burstFor(rate), 0);
          const endMs = 30_000;
          // Each consumer is ready again when its last wait ends; the earliest goes next.
          const readyAt = chunkOf.map(() => 0);
          let sent = 0;
          for (;;) {
            const i = readyAt.indexOf(Math.min(...readyAt));
            const now = readyAt[i] as number;
            const n = chunkOf[i] as number;
            const at = now + bucket.reserve(n, now);
            if (at > endMs) break;
            sent += n;
            readyAt[i] = at;
          }
          expect(sent).toBeLessThanOrEqual((rate * endMs) / 1000 + burstFor(rate));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("BandwidthLimit", () => {
  test("the cap in force is the lower of the node's and the cloud's", () => {
    expect(effectiveCap(undefined, undefined)).toBeUndefined();
    expect(effectiveCap(100, undefined)).toBe(100);
    expect(effectiveCap(undefined, 50)).toBe(50);
    expect(effectiveCap(100, 50)).toBe(50);
    expect(effectiveCap(10, 50)).toBe(10);
  });

  test("the cloud's cap lowers the local one and cannot be raised past it by the node", async () => {
    let now = 0;
    const limit = new BandwidthLimit(1000, () => now);
    expect(limit.bytesPerSecond).toBe(1000);
    limit.setCloudCap(100);
    expect(limit.bytesPerSecond).toBe(100);
    limit.setCloudCap(undefined);
    expect(limit.bytesPerSecond).toBe(1000);
    now = 10;
    await limit.take(1, new AbortController().signal);
  });

  test("unlimited: take never waits", async () => {
    const limit = new BandwidthLimit(undefined);
    const start = Date.now();
    await limit.take(1e12, new AbortController().signal);
    expect(Date.now() - start).toBeLessThan(50);
  });

  test("take waits out the reservation and can be aborted", async () => {
    const limit = new BandwidthLimit(16 * 1024 * 10);
    await limit.take(16 * 1024, new AbortController().signal); // the burst
    const abort = new AbortController();
    const waiting = limit.take(160 * 1024, abort.signal); // ~1 s
    abort.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });
});
