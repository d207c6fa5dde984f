// The broker's packet-size guard reads MQTT fixed headers across arbitrary chunk boundaries.
import { describe, expect, test } from "bun:test";
import { createFrameLimit } from "../../src/protocol/frame-limit.ts";

/** A fixed header for a packet whose remaining length is `length`. */
function header(length: number): Buffer {
  const bytes = [0x30];
  let n = length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

const packet = (length: number) => Buffer.concat([header(length), Buffer.alloc(length)]);

describe("frame limit", () => {
  test("packets under the limit pass, in any chunking", () => {
    const stream = Buffer.concat([packet(0), packet(10), packet(300), packet(20_000), packet(2)]);
    for (const size of [1, 2, 3, 7, 128, stream.length]) {
      const limit = createFrameLimit(20_004);
      const failed: unknown[] = [];
      for (let i = 0; i < stream.length; i += size) {
        const verdict = limit.feed(stream.subarray(i, i + size));
        if (!verdict.ok) failed.push({ size, at: i, verdict });
      }
      expect(failed).toEqual([]);
    }
  });

  test("a packet announcing more than the limit fails at its header", () => {
    const limit = createFrameLimit(1024 * 1024);
    expect(limit.feed(packet(100)).ok).toBe(true);
    const verdict = limit.feed(header(2 * 1024 * 1024));
    expect(verdict).toMatchObject({ ok: false, size: 1 + 4 + 2 * 1024 * 1024 });
    // Stays failed.
    expect(limit.feed(Buffer.alloc(1)).ok).toBe(false);
  });

  test("a split length varint is still read", () => {
    const limit = createFrameLimit(1000);
    const h = header(5000);
    expect(limit.feed(h.subarray(0, 2)).ok).toBe(true);
    expect(limit.feed(h.subarray(2)).ok).toBe(false);
  });

  test("a malformed (5-byte) length fails", () => {
    const limit = createFrameLimit(1 << 30);
    expect(limit.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).ok).toBe(false);
  });
});
