// `levee ctl get -o jsonpath=TEMPLATE`: kubectl's JSONPath templates, the part people use: text
// with `{...}` expressions, each a path from the value (`.items[*].metadata.name`, `.spec.workers[0]`,
// `['a.b']`, `..` is not supported), several results joined by a space, `{range PATH}...{end}`
// loops, and string literals (`{"\n"}`). A mistake in the template is a usage error.
import { UsageError } from "../../runtime/errors.ts";

type Step = { field: string } | { index: number } | { all: true };
type Node = { text: string } | { path: Step[] } | { range: Step[]; body: Node[] };

export function renderJsonPath(template: string, value: unknown): string {
  const nodes = parseTemplate(template);
  return render(nodes, value);
}

function render(nodes: readonly Node[], value: unknown): string {
  let out = "";
  for (const node of nodes) {
    if ("text" in node) out += node.text;
    else if ("range" in node) {
      for (const item of select(value, node.range)) out += render(node.body, item);
    } else out += select(value, node.path).map(show).join(" ");
  }
  return out;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Every value the path reaches (a missing field reaches nothing). */
function select(value: unknown, path: readonly Step[]): unknown[] {
  let current: unknown[] = [value];
  for (const step of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if ("field" in step) {
        if (v && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, step.field))
          next.push((v as Record<string, unknown>)[step.field]);
      } else if ("index" in step) {
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (Array.isArray(v)) next.push(...v);
      else if (v && typeof v === "object") next.push(...Object.values(v));
    }
    current = next;
  }
  return current;
}

function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: { body: Node[] }[] = [{ body: root }];
  const bad = (why: string) =>
    new UsageError(`flag --output: jsonpath: ${why} in ${JSON.stringify(template)}`);
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    const top = stack[stack.length - 1] as { body: Node[] };
    if (open < 0) {
      top.body.push({ text: template.slice(i) });
      break;
    }
    if (open > i) top.body.push({ text: template.slice(i, open) });
    const close = closingBrace(template, open);
    if (close < 0) throw bad("a { without its }");
    const expr = template.slice(open + 1, close).trim();
    i = close + 1;
    if (expr === "end") {
      if (stack.length === 1) throw bad("{end} without {range}");
      stack.pop();
    } else if (expr.startsWith("range ")) {
      const node: Node = { range: parsePath(expr.slice(6).trim(), bad), body: [] };
      top.body.push(node);
      stack.push(node);
    } else if (/^"(?:[^"\\]|\\.)*"$/.test(expr)) {
      top.body.push({ text: JSON.parse(expr) as string });
    } else top.body.push({ path: parsePath(expr, bad) });
  }
  if (stack.length > 1) throw bad("{range} without {end}");
  return root;
}

/** The index of the } that closes the { at `open`, skipping quoted strings. */
function closingBrace(text: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "}") return i;
  }
  return -1;
}

function parsePath(expr: string, bad: (why: string) => Error): Step[] {
  const steps: Step[] = [];
  let rest = expr.startsWith("$") ? expr.slice(1) : expr;
  if (rest === "" || rest === ".") return steps;
  const forms: [RegExp, (m: RegExpExecArray) => Step][] = [
    [/^\.([A-Za-z0-9_-]+)/, (m) => ({ field: m[1] ?? "" })],
    [/^\[\*\]|^\.\*/, () => ({ all: true })],
    [/^\[(-?\d+)\]/, (m) => ({ index: Number(m[1]) })],
    [/^\[(['"])(.*?)\1\]/, (m) => ({ field: m[2] ?? "" })],
  ];
  while (rest.length > 0) {
    let matched: RegExpExecArray | undefined;
    for (const [form, step] of forms) {
      const m = form.exec(rest);
      if (!m) continue;
      steps.push(step(m));
      matched = m;
      break;
    }
    if (!matched) throw bad(`cannot read ${JSON.stringify(rest)}`);
    rest = rest.slice(matched[0].length);
  }
  return steps;
}
