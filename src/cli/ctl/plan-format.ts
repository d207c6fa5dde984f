// How `levee ctl diff`, `apply --dry-run` and `rollout` print what an apply does or would do (the
// answer of POST /api/v1/apply?dryRun=true): per object its outcome and, for diff, the changed
// fields (`~ spec.template.env.MODE: "a" -> "b"`, `+` added, `-` removed; a new object's fields
// one per line); per node the workers added, replaced, updated in place or stopped; a summary line.
// Pure: text in, text out.
import type { SpecChange } from "../../manifest/spec-diff.ts";
import { objectRef } from "./kinds.ts";

export interface PlannedResult {
  kind: string;
  name: string;
  namespace?: string;
  outcome: string;
  generation?: number;
  owner?: { kind: string; name: string };
  changes?: SpecChange[];
}

export interface PlannedNode {
  node: string;
  revision: number;
  workers: { service: string; index: number; change: string; generation?: number }[];
}

export interface PlanAnswer {
  results: PlannedResult[];
  nodes: PlannedNode[];
  dryRun?: boolean;
}

/** Longest value printed on a change line; longer ones end in `...`. */
const VALUE_WIDTH = 120;

function value(v: unknown): string {
  const text = JSON.stringify(v) ?? "null";
  return text.length > VALUE_WIDTH ? `${text.slice(0, VALUE_WIDTH - 3)}...` : text;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** An added or removed value as its leaves: one line per scalar (or array of scalars). */
function leaves(path: string, v: unknown): [string, unknown][] {
  if (isRecord(v) && Object.keys(v).length > 0) {
    return Object.keys(v)
      .sort()
      .flatMap((k) =>
        leaves(/^[A-Za-z_$][\w$-]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, v[k]),
      );
  }
  if (Array.isArray(v) && v.some((item) => typeof item === "object" && item !== null)) {
    return v.flatMap((item, i) => leaves(`${path}[${i}]`, item));
  }
  return [[path, v]];
}

/** The lines of one object's changes, indented. A change without values (a secret) names the path. */
export function changeLines(changes: readonly SpecChange[], indent = "    "): string[] {
  return changes.flatMap((c) => {
    const path = c.path === "" ? "(whole object)" : c.path;
    if (c.op === "changed") {
      if (!("before" in c) && !("after" in c)) return [`${indent}~ ${path}`];
      return [`${indent}~ ${path}: ${value(c.before)} -> ${value(c.after)}`];
    }
    const sign = c.op === "added" ? "+" : "-";
    const v = c.op === "added" ? c.after : c.before;
    if (!(c.op === "added" ? "after" in c : "before" in c)) return [`${indent}${sign} ${path}`];
    return leaves(path, v).map(([p, leaf]) => `${indent}${sign} ${p}: ${value(leaf)}`);
  });
}

/** `service/web configured (namespace x) (from jmes/det) (generation 3, dry run)`. */
function objectLine(r: PlannedResult, dryRun: boolean): string {
  const where = r.namespace ? ` (namespace ${r.namespace})` : "";
  const from = r.owner ? ` (from ${objectRef(r.owner.kind, r.owner.name)})` : "";
  const notes = [
    ...(r.generation !== undefined && r.outcome !== "unchanged" && r.outcome !== "deleted"
      ? [`generation ${r.generation}`]
      : []),
    ...(dryRun ? ["dry run"] : []),
  ];
  return `${objectRef(r.kind, r.name)} ${r.outcome}${where}${from}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
}

/** Each node whose plan changes, with its worker changes (`web/0 replaced (generation 3)`). */
export function nodeLines(nodes: readonly PlannedNode[]): string[] {
  return nodes.flatMap((n) => [
    `node ${n.node} (plan revision ${n.revision}):`,
    ...(n.workers.length === 0
      ? ["    no worker changes (mesh or config only)"]
      : n.workers.map(
          (w) =>
            `    ${w.service}/${w.index} ${w.change}${w.generation !== undefined && w.change !== "stopped" ? ` (generation ${w.generation})` : ""}`,
        )),
  ]);
}

/** `2 objects changed, 1 unchanged; 3 workers: 1 added, 2 replaced on 2 nodes`. */
export function summaryLine(answer: PlanAnswer): string {
  const changed = answer.results.filter((r) => r.outcome !== "unchanged").length;
  const unchanged = answer.results.length - changed;
  const counts = new Map<string, number>();
  for (const n of answer.nodes)
    for (const w of n.workers) counts.set(w.change, (counts.get(w.change) ?? 0) + 1);
  const order = ["added", "replaced", "updated", "stopped"];
  const workers = order.filter((c) => counts.has(c)).map((c) => `${counts.get(c)} ${c}`);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const objects = `${changed} ${changed === 1 ? "object" : "objects"} changed, ${unchanged} unchanged`;
  if (total === 0) return `${objects}; no worker changes`;
  const nodes = answer.nodes.filter((n) => n.workers.length > 0).length;
  return `${objects}; ${total} ${total === 1 ? "worker" : "workers"}: ${workers.join(", ")} on ${nodes} ${nodes === 1 ? "node" : "nodes"}`;
}

/** `levee ctl diff`: each object with its changed fields, each node's workers, the summary. */
export function renderDiff(answer: PlanAnswer): string {
  const lines = answer.results.flatMap((r) => [objectLine(r, false), ...changeLines(r.changes ?? [])]);
  return `${[...lines, ...nodeLines(answer.nodes), summaryLine(answer)].join("\n")}\n`;
}

/** `levee ctl apply --dry-run`: the apply's lines marked as a dry run, the nodes, the summary. */
export function renderDryRun(answer: PlanAnswer): string {
  const lines = answer.results.map((r) => objectLine(r, true));
  return `${[...lines, ...nodeLines(answer.nodes), summaryLine(answer)].join("\n")}\n`;
}
