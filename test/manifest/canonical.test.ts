// Canonical JSON and hashes.
import { describe, expect, test } from "bun:test";
import { canonicalJson, contentHash, sha256Hex } from "../../src/manifest/canonical.ts";

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 4 : 6));
  if (pick === 0) return Math.floor(next() * 1000) - 500;
  if (pick === 1) return `s${Math.floor(next() * 50)}\n"é`;
  if (pick === 2) return next() < 0.5;
  if (pick === 3) return null;
  if (pick === 4) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 5); i > 0; i--)
    object[`k${Math.floor(next() * 20)}`] = randomValue(next, depth + 1);
  return object;
}

/** The same value with every object's keys in a shuffled order. */
function shuffled(value: unknown, next: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffled(v, next));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).sort(() => next() - 0.5);
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffled(v, next)]));
}

describe("canonicalJson", () => {
  test("sorted keys, no whitespace", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: "x" }], e: { g: null, f: true } })).toBe(
      '{"a":[{"c":"x","d":2}],"b":1,"e":{"f":true,"g":null}}',
    );
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(canonicalJson("x")).toBe('"x"');
    expect(canonicalJson(undefined)).toBe("null");
  });

  test("independent of key order (200 random values)", () => {
    const next = random(42);
    for (let i = 0; i < 200; i++) {
      const value = randomValue(next);
      const text = canonicalJson(value);
      expect(canonicalJson(shuffled(value, next))).toBe(text);
      expect(JSON.parse(text)).toEqual(value as object);
    }
  });

  test("arrays keep their order", () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });
});

describe("hashes", () => {
  test("sha256Hex", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("contentHash ignores system fields and status, not labels or spec", () => {
    const object = {
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "a", labels: {} },
      spec: { x: 1 },
    };
    const hash = contentHash(object);
    expect(
      contentHash({ ...object, metadata: { ...object.metadata, resourceVersion: 7 }, status: { y: 1 } }),
    ).toBe(hash);
    expect(contentHash({ ...object, metadata: { name: "a" } })).toBe(hash);
    expect(contentHash({ ...object, spec: { x: 2 } })).not.toBe(hash);
    expect(contentHash({ ...object, metadata: { name: "a", labels: { a: "b" } } })).not.toBe(hash);
  });
});
