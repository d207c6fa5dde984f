// The layering of src/: which top-level folder may import which, and no import cycle between
// files. test/layering.test.ts runs it in `npm test`; `bun build/layers.ts` prints the same report.
//
// Written here rather than taken from dependency-cruiser: its TypeScript support needs the
// TypeScript compiler API, which the native TypeScript 7 package does not ship; what is needed is
// small (read the import specifiers, resolve the relative ones, check a table, find cycles).
// Type-only imports count: a folder that names another's types depends on it as much.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * Who may import whom, lowest layer first. A folder may import itself and what its row lists;
 * `cli` (the commands) may import everything. The table is the architecture in one place: the
 * README's folder table says the same in words.
 */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  types: [],
  runtime: [],
  manifest: ["runtime"],
  store: ["runtime"],
  config: ["runtime", "manifest"],
  protocol: ["runtime", "manifest"],
  mesh: ["runtime", "store", "manifest", "protocol"],
  kube: ["runtime", "manifest"],
  node: ["runtime", "store", "config", "manifest", "protocol", "mesh", "kube"],
  edge: ["runtime", "store", "config", "manifest", "protocol", "mesh", "kube", "node"],
  cloud: ["runtime", "store", "config", "manifest", "protocol", "mesh", "kube", "node"],
  cli: ["runtime", "store", "config", "manifest", "protocol", "mesh", "kube", "node", "edge", "cloud"],
};

/** One import between two files under the source root (paths relative to it). */
export interface ImportEdge {
  from: string;
  to: string;
}

export interface LayerReport {
  /** Imports a folder may not make, with the reason. */
  violations: string[];
  /** File cycles, each as the list of files around it. */
  cycles: string[][];
}

// `import ... from "x"`, `export ... from "x"`, `import "x"`, `import("x")`, `require("x")`.
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s(?:[^;]*?\sfrom\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a TypeScript source names (comment lines are skipped). */
export function importSpecifiers(source: string): string[] {
  const code = source
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
    .join("\n");
  return [...code.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** Every relative import between .ts and .tsx files under `root`. */
export function readImports(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const name of readdirSync(root, { recursive: true, encoding: "utf8" })) {
    if (!/\.tsx?$/.test(name)) continue;
    const file = join(root, name);
    for (const spec of importSpecifiers(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(`${root}/`) || !/\.tsx?$/.test(target)) continue;
      edges.push({ from: relative(root, file), to: relative(root, target) });
    }
  }
  return edges;
}

const folderOf = (file: string): string => file.split("/")[0] ?? file;

/** The report for a set of imports against the layers (pure: tests feed it made-up edges). */
export function checkLayers(
  edges: readonly ImportEdge[],
  layers: Readonly<Record<string, readonly string[]>> = LAYERS,
): LayerReport {
  const violations: string[] = [];
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === b) continue;
    const allowed = layers[a];
    if (allowed === undefined)
      violations.push(`${from}: folder src/${a} has no row in LAYERS (build/layers.ts)`);
    else if (!allowed.includes(b))
      violations.push(
        `${from} imports ${to}: src/${a} may import only ${allowed.map((f) => `src/${f}`).join(", ") || "nothing else"}`,
      );
  }
  return { violations, cycles: fileCycles(edges) };
}

/** The strongly connected components of more than one file (or a file importing itself): Tarjan. */
export function fileCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  // Iterative, so that a long import chain cannot overflow the stack.
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; i: number };
      const targets = next.get(frame.node) ?? [];
      if (frame.i < targets.length) {
        const to = targets[frame.i++] as string;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, i: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = targets.includes(frame.node);
        if (component.length > 1 || selfLoop) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "../src");
  const report = checkLayers(readImports(root));
  for (const v of report.violations) console.log(`layer: ${v}`);
  for (const c of report.cycles) console.log(`cycle: ${c.join(" → ")}`);
  const problems = report.violations.length + report.cycles.length;
  console.log(problems === 0 ? "layers: ok" : `layers: ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
}
