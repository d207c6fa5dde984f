// `levee ctl get KIND -w`: after the listing, poll it every second and print each object whose row
// changed (a new object, or a new phase, readiness, restart count, plan, ...) as one more row
// under the first table, or one JSON/YAML document (JSONPath: the template applied to the
// object), until Ctrl-C. Ages tick every second, so they do not count as a change.
import { CtlFailure } from "./client.ts";
import type { CtlContext } from "./context.ts";
import { toYaml } from "./format.ts";
import { untilInterrupted } from "./interrupt.ts";
import { renderJsonPath } from "./jsonpath.ts";

/** One listing of get: the table's rows, each with the object it shows, and the API's answer. */
export interface Listing {
  headers: string[];
  rows: string[][];
  /** The object of each row (what -w prints as JSON or YAML when its row changed). */
  items: unknown[];
  /** What -o json, yaml and jsonpath print. */
  value: unknown;
}

const POLL_MS = 1000;
/** Columns that change with time alone. */
const VOLATILE = new Set(["AGE", "LAST-SEEN", "SINCE"]);

/** Which object a row shows: its namespace and name, or a worker's or route's coordinates. */
export function identityOf(item: unknown): string {
  const o = item as Record<string, unknown> & { metadata?: { name?: string; namespace?: string } };
  if (o.metadata?.name !== undefined) return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  return ["service", "node", "index", "kind", "port"].map((k) => String(o[k] ?? "")).join("/");
}

/** What of a row counts as a change. */
function signature(headers: readonly string[], row: readonly string[]): string {
  return JSON.stringify(row.filter((_, i) => !VOLATILE.has(headers[i] ?? "")));
}

export function signatures(l: Listing): Map<string, string> {
  return new Map(l.items.map((item, i) => [identityOf(item), signature(l.headers, l.rows[i] ?? [])]));
}

/** The indexes of the rows of `next` that are new or differ from `seen`. */
export function changedRows(seen: ReadonlyMap<string, string>, next: Listing): number[] {
  const out: number[] = [];
  next.items.forEach((item, i) => {
    if (seen.get(identityOf(item)) !== signature(next.headers, next.rows[i] ?? [])) out.push(i);
  });
  return out;
}

export async function watch(ctx: CtlContext, first: Listing, fetch: () => Promise<Listing>): Promise<number> {
  const { output } = ctx.options;
  const widths = first.headers.map((h, i) =>
    Math.max(h.length, ...first.rows.map((r) => (r[i] ?? "").length)),
  );
  if (first.rows.length === 0 && (output === "table" || output === "wide"))
    ctx.out(`${first.headers.join("   ")}\n`);
  let seen = signatures(first);
  let stopped = false;
  let warned = false;
  const print = (l: Listing, i: number) => {
    const item = l.items[i];
    if (output === "json") ctx.out(`${JSON.stringify(item)}\n`);
    else if (output === "yaml") ctx.out(`---\n${toYaml(item)}`);
    else if (output.startsWith("jsonpath=")) ctx.out(renderJsonPath(output.slice("jsonpath=".length), item));
    else {
      const row = l.rows[i] ?? [];
      ctx.out(
        `${row
          .map((c, j) => (j < row.length - 1 ? c.padEnd(widths[j] ?? 0) : c))
          .join("   ")
          .trimEnd()}\n`,
      );
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await Bun.sleep(POLL_MS);
      if (stopped) return;
      let next: Listing;
      try {
        next = await fetch();
      } catch (err) {
        if (!(err instanceof CtlFailure) || !err.unreachable) throw err;
        if (!warned) process.stderr.write(`${err.message}; still trying\n`);
        warned = true;
        continue;
      }
      warned = false;
      for (const i of changedRows(seen, next)) print(next, i);
      seen = signatures(next);
    }
  })();
  return untilInterrupted(loop, () => {
    stopped = true;
  });
}
