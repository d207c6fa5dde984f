// Manifests nesting too deep (JSON or YAML, 100,000 levels in 200 KB) are refused before any object
// is built, naming the limit and where; everything real still loads exactly as the yaml package
// reads it (the examples, block scalars of deeply indented code, random values within the limit).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { LineCounter, parseAllDocuments, stringify } from "yaml";
import { parseYamlWithin } from "../../src/manifest/bounded-yaml.ts";
import { loadDocuments } from "../../src/manifest/documents.ts";
import { parseManifests } from "../../src/manifest/manifest.ts";
import { MAX_NESTING_DEPTH } from "../../src/runtime/bounded-json.ts";

const OPTIONS = { prettyErrors: false, merge: true, uniqueKeys: true } as const;
const read = (text: string, maxDepth = MAX_NESTING_DEPTH) =>
  parseYamlWithin(text, new LineCounter(), OPTIONS, maxDepth);

function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return 1 + deepest;
}

const DEEP = 100_000;
const limitMessage = (line: number, column: number) =>
  `the manifest nests deeper than ${MAX_NESTING_DEPTH} levels (at line ${line}, column ${column})`;

describe("a manifest nesting too deep is refused, naming the limit", () => {
  test.each([
    ["JSON, application/json", `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, "application/json", 1, 65],
    ["JSON, no content type", `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`, undefined, 1, 65],
    [
      "JSON inside a field",
      `{"kind": "Config",\n "data": ${'{"a":'.repeat(DEEP)}1${"}".repeat(DEEP)}}`,
      "application/json",
      2,
      325,
    ],
    ["YAML flow", "[".repeat(DEEP), "application/yaml", 1, 65],
    ["YAML block sequences", `${"- ".repeat(DEEP)}x`, "application/yaml", 1, 129],
    [
      "YAML block maps",
      Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n"),
      "application/yaml",
      65,
      66,
    ],
  ])("%s", (_, body, contentType, line, column) => {
    const started = performance.now();
    const parsed = parseManifests(body, contentType);
    expect(parsed).toEqual({
      ok: false,
      issues: [{ document: 0, path: "", message: limitMessage(line, column) }],
    });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("the documents before the deep one keep their numbers; nothing after it is read", () => {
    const ok = "apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1}\n";
    const docs = loadDocuments(`${ok}---\n${ok}---\nkey: ${"[".repeat(DEEP)}\n---\n{{{`, "application/yaml");
    expect(docs).toEqual([
      { value: { apiVersion: "levee/v1", kind: "Node", metadata: { name: "edge1" } } },
      { value: { apiVersion: "levee/v1", kind: "Node", metadata: { name: "edge1" } } },
      { errors: [limitMessage(9, 69)] },
    ]);
  });

  test("memory stays flat: 4 MB of `[` parses no further than the limit", () => {
    const body = "[".repeat(4 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 3; i++) {
      expect(read(body).tooDeep).toEqual({ line: 1, column: 65 });
      expect(loadDocuments(body)).toEqual([{ errors: [limitMessage(1, 65)] }]);
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });
});

describe("real manifests still load, exactly as the yaml package reads them", () => {
  const examples = join(import.meta.dir, "../../examples");
  const manifests = readdirSync(examples, { recursive: true, encoding: "utf8" })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(examples, name));

  test.each(manifests.map((f) => [f.replace(/.*examples\//, "examples/"), f]))("%s", (_, file) => {
    const text = readFileSync(file, "utf8");
    const expected = parseAllDocuments(text, OPTIONS);
    if (!Array.isArray(expected)) throw new Error("not documents");
    const got = read(text);
    expect(got.tooDeep).toBeUndefined();
    expect(got.documents.map((d) => d.toJS())).toEqual(expected.map((d) => d.toJS()));
    expect(parseManifests(text, "application/yaml").ok).toBe(true);
  });

  test("a block scalar holding deeply indented, bracket-heavy code", () => {
    const code = Array.from({ length: 300 }, (_, i) => `${"  ".repeat(i)}f(${"[".repeat(i)}{- x: [`).join(
      "\n",
    );
    const body = `apiVersion: levee/v1\nkind: Config\nmetadata: {name: code}\ndata:\n  main.py: |\n${code
      .split("\n")
      .map((l) => `    ${l}`)
      .join("\n")}\n  other.py: >-\n    ${"[".repeat(500)}\n`;
    const parsed = parseManifests(body, "application/yaml");
    expect(parsed.ok).toBe(true);
    const [doc] = loadDocuments(body, "application/yaml");
    expect(doc?.value).toMatchObject({ data: { "main.py": `${code}\n` } });
  });

  test("property: any value within the limit reads back the same, in block or flow style", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 70 }),
        fc.boolean(),
        (core, wraps, flow) => {
          let value: unknown = core;
          for (let i = 0; i < wraps; i++) value = i % 3 === 0 ? { [`k${i}`]: value, x: 1 } : [value];
          const depth = depthOf(value);
          const text = stringify(value, { collectionStyle: flow ? "flow" : "any", lineWidth: 0 });
          const got = read(text);
          if (depth <= MAX_NESTING_DEPTH) {
            expect(got.tooDeep).toBeUndefined();
            expect(JSON.stringify(got.documents[0]?.toJS())).toBe(JSON.stringify(value));
          } else {
            expect(got.tooDeep).toBeDefined();
            expect(got.documents).toEqual([]);
          }
          // and as JSON, the same verdict
          const json = loadDocuments(JSON.stringify(value), "application/json");
          expect(json.some((d) => d.errors?.[0]?.includes("nests deeper"))).toBe(depth > MAX_NESTING_DEPTH);
        },
      ),
      { numRuns: 300 },
    );
  });
});
