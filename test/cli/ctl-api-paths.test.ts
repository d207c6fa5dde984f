// `levee ctl` calls only documented routes: every request its sources make through the API client
// (client.request(METHOD, PATH) and client.stream(PATH), which prefix /api/v1) and every literal
// /api/v1/... path in the CLI's sources is an operation of the cloud's OpenAPI document. The paths
// are read from the sources: string and template literals, a template's `${...}` being a value
// (one path segment), a query (dropped), a kind's plural (each kind ctl gets by name), or a choice
// between the literals it holds. A call whose path cannot be read fails the test.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KINDS } from "../../src/cli/ctl/kinds.ts";
import { everyRouteCloud } from "../harness/cloud-api.ts";
import { REPO_ROOT } from "../harness/cluster.ts";

const { app, store, logs } = everyRouteCloud();
afterAll(() => {
  logs.close();
  store.close();
});

type Part = string | { expr: string };

/** The template literal starting at src[start] (a backtick): its parts, and where it ends. */
function readTemplate(src: string, start: number): { parts: Part[]; end: number } {
  const parts: Part[] = [];
  let text = "";
  let i = start + 1;
  while (i < src.length && src[i] !== "`") {
    if (src[i] === "\\") {
      text += src.slice(i, i + 2);
      i += 2;
    } else if (src.startsWith("${", i)) {
      if (text) parts.push(text);
      text = "";
      const exprStart = i + 2;
      i = skipExpression(src, exprStart);
      parts.push({ expr: src.slice(exprStart, i) });
      i++; // the closing brace
    } else text += src[i++];
  }
  if (text) parts.push(text);
  return { parts, end: i + 1 };
}

/** Where the expression starting at `i` inside `${...}` ends (its closing brace). */
function skipExpression(src: string, i: number): number {
  let depth = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "`") i = readTemplate(src, i).end;
    else if (c === '"' || c === "'") i = src.indexOf(c, i + 1) + 1;
    else {
      if (c === "{") depth++;
      if (c === "}" && depth-- === 0) return i;
      i++;
    }
  }
  throw new Error("unterminated template expression");
}

/** The literals (string or template) in an expression's source, in order. */
function literalsIn(expr: string): Part[][] {
  const found: Part[][] = [];
  for (let i = 0; i < expr.length; ) {
    const c = expr[i];
    if (c === "`") {
      const t = readTemplate(expr, i);
      found.push(t.parts);
      i = t.end;
    } else if (c === '"' || c === "'") {
      const end = expr.indexOf(c, i + 1);
      found.push([expr.slice(i + 1, end)]);
      i = end + 1;
    } else i++;
  }
  return found;
}

const PLURALS = KINDS.filter((k) => k.resource).map((k) => k.plural);

/** Every path a literal's parts can make, without the query. */
function expand(parts: readonly Part[]): string[] {
  let paths = [""];
  for (const part of parts) {
    let options: string[];
    if (typeof part === "string") options = [part];
    else if (/plural/.test(part.expr)) options = PLURALS;
    else if (/["'`]/.test(part.expr)) options = literalsIn(part.expr).flatMap(expand);
    else if (/query/i.test(part.expr)) options = [""];
    else options = ["VALUE"];
    paths = paths.flatMap((p) => options.map((o) => p + o));
  }
  return paths.map((p) => p.split("?")[0] ?? p);
}

/** The literal an argument stands for: itself, a `const NAME = ...` or what `NAME(...)` returns. */
function argumentLiteral(src: string, at: number, file: string): Part[] {
  const rest = src.slice(at).trimStart();
  const offset = at + (src.length - at - rest.length);
  if (rest.startsWith("`")) return readTemplate(src, offset).parts;
  if (rest.startsWith('"')) return [rest.slice(1, rest.indexOf('"', 1))];
  const name = /^[A-Za-z_$][\w$]*/.exec(rest)?.[0];
  const definition = name
    ? (new RegExp(`const ${name} = `).exec(src) ??
      new RegExp(`function ${name}\\([^)]*\\)[^{]*\\{[^]*?return `).exec(src))
    : null;
  if (!definition) throw new Error(`${file}: cannot read the path of the call at ${rest.slice(0, 60)}`);
  return argumentLiteral(src, definition.index + definition[0].length, file);
}

interface Call {
  file: string;
  method: string | undefined;
  path: string;
}

/** The API calls of the CLI's sources. */
function cliCalls(): Call[] {
  const calls: Call[] = [];
  const dir = join(REPO_ROOT, "src/cli");
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!name.endsWith(".ts")) continue;
    const src = readFileSync(join(dir, name), "utf8");
    for (const m of src.matchAll(/\.request(?:<[^()]*>)?\(\s*"([A-Z]+)",/g))
      for (const path of expand(argumentLiteral(src, (m.index ?? 0) + m[0].length, name)))
        calls.push({ file: name, method: m[1], path: `/api/v1${path}` });
    for (const m of src.matchAll(/client(?:\(\))?\s*\.stream\(/g))
      for (const path of expand(argumentLiteral(src, (m.index ?? 0) + m[0].length, name)))
        calls.push({ file: name, method: "GET", path: `/api/v1${path}` });
    for (const m of src.matchAll(/["'`](\/api\/v1\/[^"'`?$]*)/g))
      calls.push({ file: name, method: undefined, path: m[1] ?? "" });
  }
  return calls;
}

test("every path the CLI calls is a documented operation", async () => {
  const doc = (await (await app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const operations = Object.entries(doc.paths).map(([path, item]) => ({
    pattern: new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`),
    methods: Object.keys(item).map((m) => m.toUpperCase()),
  }));
  const calls = cliCalls();
  const undocumented = calls.filter(
    (call) =>
      !operations.some(
        (op) => op.pattern.test(call.path) && (call.method === undefined || op.methods.includes(call.method)),
      ),
  );
  expect(undocumented).toEqual([]);
  // What the reading finds (so that a reading that finds nothing cannot pass).
  const found = new Set(calls.map((c) => `${c.method ?? "*"} ${c.path}`));
  for (const call of [
    "POST /api/v1/apply",
    "GET /api/v1/services/VALUE",
    "DELETE /api/v1/jointmultiedgeservices/VALUE",
    "GET /api/v1/logs/VALUE",
    "POST /api/v1/artifacts",
    "GET /api/v1/backup",
    "GET /api/v1/events",
    "GET /api/v1/kubeconfig",
    "POST /api/v1/workers/restart",
    "* /api/v1/tokens",
  ])
    expect(found).toContain(call);
  expect(new Set(calls.map((c) => c.file)).size).toBeGreaterThan(10);
});

test("the reading: values, queries, plurals and choices in templates; a path it cannot read fails", () => {
  const src =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source of a template, which the test reads
    'const p = `/${info.plural}${name ? `/${encodeURIComponent(name)}` : ""}${namespaceQuery(ctx)}`;';
  const paths = expand(argumentLiteral(src, src.indexOf("= ") + 2, "x.ts"));
  expect(paths).toContain("/services");
  expect(paths).toContain("/services/VALUE");
  expect(paths).not.toContain("/workers/VALUE"); // workers are no stored objects: never got by name
  expect(expand(argumentLiteral('x("/a?b=1")', 2, "x.ts"))).toEqual(["/a"]);
  expect(() => argumentLiteral("x(somewhere)", 2, "x.ts")).toThrow(/cannot read the path/);
});
