// `levee ctl events [-f|-w] [--node N] [--service S] [-n NS] [-o table|wide|json|yaml]`: the
// cluster's events (GET /api/v1/events, server-sent), oldest first: the newest 100, and with -f
// every new one as it happens until Ctrl-C. --node keeps a node's own events and those that name
// it (a worker restarted on it); --service one service's (in -n's namespace).
import { qualifiedName } from "../../manifest/namespace.ts";
import { CtlFailure } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { SseParser } from "./events.ts";
import { age, renderTable, toJson, toYaml } from "./format.ts";
import { untilInterrupted } from "./interrupt.ts";
import type { EventView } from "./types.ts";

export interface EventFilter {
  node?: string | undefined;
  /** The service's key (namespace.ts: name, or name.namespace). */
  service?: string | undefined;
}

export function eventMatches(e: EventView, filter: EventFilter): boolean {
  if (filter.service !== undefined && !(e.kind === "Service" && e.name === filter.service)) return false;
  if (filter.node !== undefined) {
    const own = e.kind === "Node" && e.name === filter.node;
    const named = new RegExp(`\\bnode ${filter.node.replace(/[.]/g, "\\.")}\\b`).test(e.message);
    if (!own && !named) return false;
  }
  return true;
}

export const EVENT_HEADERS = ["AGE", "KIND", "NAME", "REASON", "MESSAGE"];

export function eventRow(e: EventView, now: number, wide = false): string[] {
  const message = e.message.replace(/\s+/g, " ").trim();
  return [
    age(e.ts, now),
    e.kind,
    e.name,
    e.reason,
    wide || message.length <= 80 ? message : `${message.slice(0, 77)}...`,
  ];
}

export async function events(ctx: CtlContext): Promise<number> {
  takeArgs(ctx.args, 0);
  const { output, node } = ctx.options;
  const options = ctx.options as typeof ctx.options & { service?: string; follow?: boolean; watch?: boolean };
  const follow = options.follow === true || options.watch === true;
  const filter: EventFilter = {
    node,
    service: options.service ? qualifiedName(ctx.options.namespace, options.service) : undefined,
  };
  const client = ctx.client();
  const abort = new AbortController();
  const backlog: EventView[] = [];
  let live = false;
  let widths: number[] | undefined;
  const print = (e: EventView) => {
    if (output === "json") ctx.out(`${JSON.stringify(e)}\n`);
    else if (output === "yaml") ctx.out(`---\n${toYaml(e)}`);
    else {
      const row = eventRow(e, Date.now(), output === "wide");
      ctx.out(`${row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths?.[i] ?? 0) : c)).join("   ")}\n`);
    }
  };
  const flushBacklog = () => {
    live = true;
    if (output === "json" && !follow) ctx.out(toJson({ items: backlog }));
    else if (output === "yaml" && !follow) ctx.out(toYaml({ items: backlog }));
    else if (output === "json" || output === "yaml") for (const e of backlog) print(e);
    else if (backlog.length === 0) {
      if (!follow) process.stderr.write("No events found.\n");
      widths = EVENT_HEADERS.map((h) => h.length);
      if (follow) ctx.out(`${EVENT_HEADERS.join("   ")}\n`);
    } else {
      const rows = backlog.map((e) => eventRow(e, Date.now(), output === "wide"));
      widths = EVENT_HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
      ctx.out(renderTable(EVENT_HEADERS, rows));
    }
  };
  // The backlog is written at once: it is over when the stream goes quiet for a moment.
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const settle = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => {
      if (live) return;
      flushBacklog();
      if (!follow) abort.abort();
    }, 300);
  };
  const parser = new SseParser((type, data) => {
    if (type !== "event") return;
    let e: EventView;
    try {
      e = JSON.parse(data) as EventView;
    } catch {
      return;
    }
    if (!eventMatches(e, filter)) return;
    if (live) print(e);
    else backlog.push(e);
  });
  const reading = (async () => {
    const res = await client.stream("/events", abort.signal);
    const reader = res.body?.getReader();
    if (!reader) return;
    const decoder = new TextDecoder();
    settle();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
      if (!live) settle();
    }
    if (follow && !abort.signal.aborted) throw new CtlFailure("the cloud closed the event stream");
  })().catch((err) => {
    if (!abort.signal.aborted) throw err;
  });
  if (!follow) {
    await reading;
    clearTimeout(quiet);
    if (!live) flushBacklog();
    return 0;
  }
  return untilInterrupted(reading, () => {
    clearTimeout(quiet);
    abort.abort();
  });
}
