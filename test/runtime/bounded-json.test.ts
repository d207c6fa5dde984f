// The nesting scanner and parseJsonWithin: exact depth for valid JSON (brackets inside strings and
// escaped quotes do not count), refusal at the first bracket past the limit with its line and
// column, and agreement with JSON.parse on random values (fast-check).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  MAX_NESTING_DEPTH,
  parseJsonWithin,
  scanJsonNesting,
  tooDeepMessage,
} from "../../src/runtime/bounded-json.ts";

/** Depth as the scanner defines it: 0 for a scalar, 1 + the deepest child for an array or object. */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return 1 + deepest;
}

describe("scanJsonNesting", () => {
  test.each([
    ["1", 0],
    ['"[[[["', 0],
    ["[]", 1],
    ["{}", 1],
    ['{"a": [1, {"b": []}]}', 4],
    ['["\\"[", "\\\\", ["]"]]', 2],
    ['{"k": "}}}}", "x": [[[]]]}', 4],
    ['["a\\\\"]', 1],
    ["[[],[],[[]]]", 3],
  ])("%s nests %d deep", (text, depth) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(scanJsonNesting(text, 64)).toEqual({ ok: true, depth });
  });

  test("refuses at the first bracket past the limit, with its line and column", () => {
    expect(scanJsonNesting("[[[1]]]", 3)).toEqual({ ok: true, depth: 3 });
    expect(scanJsonNesting("[[[[1]]]]", 3)).toEqual({ ok: false, line: 1, column: 4 });
    expect(scanJsonNesting('{\n  "a": {\n    "b": [\n      []]}}', 3)).toEqual({
      ok: false,
      line: 4,
      column: 7,
    });
    // A bracket in a string that spans lines (invalid JSON) does not count, the newline does.
    expect(scanJsonNesting('["\n[[[[", [[[[', 3)).toEqual({ ok: false, line: 2, column: 10 });
  });

  test("100,000 nested brackets are refused at once, without building anything", () => {
    const started = performance.now();
    for (const text of [
      "[".repeat(100_000),
      "[".repeat(100_000) + "]".repeat(100_000),
      '{"a":'.repeat(100_000),
    ]) {
      const verdict = scanJsonNesting(text);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.line).toBe(1);
    }
    expect(scanJsonNesting("[".repeat(100_000))).toEqual({
      ok: false,
      line: 1,
      column: MAX_NESTING_DEPTH + 1,
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("property: for any JSON value within the limit, the scanner accepts it with JSON.parse's depth", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const depth = depthOf(JSON.parse(text));
        expect(scanJsonNesting(text, 64)).toEqual({ ok: true, depth });
        // and with the limit just below its depth, it is refused
        if (depth > 0) expect(scanJsonNesting(text, depth - 1).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  test("property: nesting past the limit is refused at the bracket that goes past it", () => {
    const wrapper = fc.constantFrom(
      (inner: string) => `[${inner}]`,
      (inner: string) => `{"k\\"[": ${inner}}`,
      (inner: string) => `["]", ${inner}, {}]`,
      (inner: string) => `{"a": 1, "b":\n ${inner}}`,
    );
    fc.assert(
      fc.property(
        fc.array(wrapper, { minLength: 1, maxLength: 120 }),
        fc.jsonValue({ maxDepth: 3 }),
        (wraps, core) => {
          const text = wraps.reduceRight((inner, wrap) => wrap(inner), JSON.stringify(core));
          const depth = depthOf(JSON.parse(text));
          const verdict = scanJsonNesting(text, MAX_NESTING_DEPTH);
          expect(verdict.ok).toBe(depth <= MAX_NESTING_DEPTH);
          if (verdict.ok) expect(verdict.depth).toBe(depth);
          else {
            // The refused bracket is the one that opens level MAX_NESTING_DEPTH + 1.
            const lines = text.split("\n");
            const before = `${lines.slice(0, verdict.line - 1).join("\n")}${verdict.line > 1 ? "\n" : ""}`;
            const offset = before.length + verdict.column - 1;
            expect("[{").toContain(text[offset] as string);
            expect(scanJsonNesting(text.slice(0, offset), 10_000)).toMatchObject({ ok: true });
            expect(scanJsonNesting(text.slice(0, offset + 1), MAX_NESTING_DEPTH).ok).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("parseJsonWithin", () => {
  test("a value within the limits", () => {
    expect(parseJsonWithin('{"a": [1]}', "the body", { maxBytes: 10 })).toEqual({
      ok: true,
      value: { a: [1] },
    });
  });

  test("too large, counted in UTF-8 bytes", () => {
    expect(parseJsonWithin('"ééééé"', "the body", { maxBytes: 11 })).toEqual({
      ok: false,
      problem: "too-large",
      reason: "the body is larger than 11 bytes",
    });
    expect(parseJsonWithin('"ééééé"', "the body", { maxBytes: 12 }).ok).toBe(true);
  });

  test("too deep: the reason names the limit and where", () => {
    const read = parseJsonWithin(`{"spec":\n${"[".repeat(100_000)}`, "the body");
    expect(read).toEqual({
      ok: false,
      problem: "too-deep",
      reason: "the body nests deeper than 64 levels (at line 2, column 64)",
    });
    expect(tooDeepMessage("x", 3, { line: 1, column: 4 })).toBe(
      "x nests deeper than 3 levels (at line 1, column 4)",
    );
  });

  test("not JSON", () => {
    expect(parseJsonWithin("{nope", "the body")).toMatchObject({
      ok: false,
      problem: "not-json",
      reason: expect.stringContaining("the body is not valid JSON: "),
    });
  });
});
