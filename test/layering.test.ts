// The layering of src/ (build/layers.ts): every import between folders is one the table allows,
// and no file imports itself back through others. The checker itself is tested on made-up imports:
// it must find a forbidden import and a cycle, or the first test could never fail.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { checkLayers, fileCycles, importSpecifiers, LAYERS, readImports } from "../build/layers.ts";
import { REPO_ROOT } from "./harness/process.ts";

describe("the layering of src/", () => {
  test("every folder imports only what LAYERS allows, and no files form a cycle", () => {
    const edges = readImports(join(REPO_ROOT, "src"));
    expect(edges.length).toBeGreaterThan(500);
    const report = checkLayers(edges);
    expect(report.violations).toEqual([]);
    expect(report.cycles).toEqual([]);
  });

  test("every folder of src/ has a row, and the table itself has no cycle", () => {
    const folders = new Set(readImports(join(REPO_ROOT, "src")).map((e) => e.from.split("/")[0]));
    for (const folder of folders) expect(LAYERS[folder as string], `src/${folder}`).toBeDefined();
    const rows = Object.entries(LAYERS).flatMap(([from, tos]) =>
      tos.map((to) => ({ from: `${from}/x.ts`, to: `${to}/x.ts` })),
    );
    expect(fileCycles(rows)).toEqual([]);
  });
});

describe("the checker", () => {
  test("a wrong import is reported with the rule it breaks", () => {
    const report = checkLayers([
      { from: "mesh/proxy/http-proxy.ts", to: "node/local-node.ts" },
      { from: "node/local-node.ts", to: "mesh/mesh-agent.ts" },
      { from: "nowhere/x.ts", to: "runtime/log.ts" },
    ]);
    expect(report.violations).toEqual([
      "mesh/proxy/http-proxy.ts imports node/local-node.ts: src/mesh may import only src/runtime, src/store, src/manifest, src/protocol",
      "nowhere/x.ts: folder src/nowhere has no row in LAYERS (build/layers.ts)",
    ]);
  });

  test("cycles: two files, three files, a file importing itself; a chain is not a cycle", () => {
    const cycles = fileCycles([
      { from: "cli/a.ts", to: "cli/b.ts" },
      { from: "cli/b.ts", to: "cli/a.ts" },
      { from: "x/1.ts", to: "x/2.ts" },
      { from: "x/2.ts", to: "x/3.ts" },
      { from: "x/3.ts", to: "x/1.ts" },
      { from: "y/self.ts", to: "y/self.ts" },
      { from: "z/1.ts", to: "z/2.ts" },
      { from: "z/2.ts", to: "z/3.ts" },
    ]);
    expect(cycles.map((c) => c.join(" ")).sort()).toEqual([
      "cli/a.ts cli/b.ts",
      "x/1.ts x/2.ts x/3.ts",
      "y/self.ts",
    ]);
  });

  test("import specifiers: static, type-only, re-exports, side effects, dynamic, require; not comments", () => {
    const source = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b.ts";',
      "import {",
      "  c,",
      "  type D,",
      '} from "./c.ts";',
      'export { e } from "./e.ts";',
      'export type { F } from "./f.ts";',
      'import "./side.ts";',
      'const g = await import("./g.ts");',
      'const h = require("./h.ts") as typeof import("./h.ts");',
      '// import { no } from "./comment.ts";',
      ' * see import("./doc.ts")',
      'const text = "not an import from here";',
    ].join("\n");
    expect(importSpecifiers(source)).toEqual([
      "./a.ts",
      "../b.ts",
      "./c.ts",
      "./e.ts",
      "./f.ts",
      "./side.ts",
      "./g.ts",
      "./h.ts",
      "./h.ts",
    ]);
  });
});
