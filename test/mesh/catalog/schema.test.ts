// parseCatalog: a catalog from the broker (or read back from SQLite) is validated before routing;
// one nesting deeper than the limit is refused before it is parsed, never a throw.
import { describe, expect, test } from "bun:test";
import { parseCatalog } from "../../../src/mesh/catalog/schema.ts";

const catalog = (labels: string) =>
  `{"v":1,"revision":1,"epoch":"e","nodes":[{"name":"edge1","role":"edge","addresses":[],"labels":${labels},"state":"Ready","tunnelPort":7403}],"services":[]}`;

describe("parseCatalog", () => {
  test("a catalog reads back", () => {
    const parsed = parseCatalog(catalog('{"role":"camera"}'));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.catalog.nodes[0]?.labels).toEqual({ role: "camera" });
    expect(parsed.ok && parseCatalog("{nope")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not valid JSON"),
    });
  });

  test("100,000 nested levels: refused naming the limit", () => {
    const deep = `${'{"a":'.repeat(100_000)}"x"${"}".repeat(100_000)}`;
    expect(parseCatalog(catalog(deep))).toEqual({
      ok: false,
      reason: "the catalog nests deeper than 64 levels (at line 1, column 401)",
    });
  });
});
