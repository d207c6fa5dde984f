// `levee ctl get KIND [NAME]` and `levee ctl describe KIND NAME`.
//
// get: a table (nodes, services, configs, workers; -o wide: more columns), or JSON, YAML or a
// JSONPath template (-o): one object as the API serves it, a list as a `kind: List` (which apply
// reads back). For workers, NAME is a service: `get workers echo` lists the workers of echo (-o
// json/yaml: the API's `{items: [...]}`). -l keeps the objects whose labels match (selector.ts);
// -w then prints each change until Ctrl-C (watch.ts); `get events` is `levee ctl events`.
// describe: YAML (or JSON with -o json) of the object, its workers and its recent events.
import { qualifiedName } from "../../manifest/namespace.ts";
import { UsageError } from "../../runtime/errors.ts";
import type { ApiClient } from "./client.ts";
import { type CtlContext, namespaceQuery, takeArgs } from "./context.ts";
import { DAYU_HEADERS, dayuRows, IMAGE_MAP_HEADERS, imageMapRows } from "./dayu-rows.ts";
import { recentEvents } from "./events.ts";
import {
  CONFIG_HEADERS,
  configRows,
  GRANT_HEADERS,
  grantRows,
  NAMESPACE_HEADERS,
  NODE_HEADERS,
  namespaceRows,
  nodeRows,
  ROUTE_HEADERS,
  renderTable,
  routeRows,
  SERVICE_HEADERS,
  serviceRows,
  toJson,
  toYaml,
  WORKER_HEADERS,
  workerRows,
} from "./format.ts";
import {
  NODE_WIDE_HEADERS,
  nodeWideRows,
  ROUTE_WIDE_HEADERS,
  routeWideRows,
  SERVICE_WIDE_HEADERS,
  serviceWideRows,
  WORKER_WIDE_HEADERS,
  workerWideRows,
} from "./format-wide.ts";
import { renderJsonPath } from "./jsonpath.ts";
import { type KindInfo, kindArgument } from "./kinds.ts";
import { matchesSelector, parseSelector, type Requirement } from "./selector.ts";
import { STAGING_HEADERS, type StagingRow, stagingRows } from "./staging-rows.ts";
import type { EventView, ListOf, NodeView, RouteView, StoredObject, WorkerView } from "./types.ts";
import type { Listing } from "./watch.ts";

export async function get(ctx: CtlContext): Promise<number> {
  const [word, name] = takeArgs(ctx.args, 2);
  if (word !== undefined && EVENT_WORDS.has(word.toLowerCase())) {
    if (name !== undefined) throw new UsageError(`unexpected argument "${name}": levee ctl events --help`);
    return (await import("./events-command.ts")).events({ ...ctx, args: [] });
  }
  const info = kindArgument(word);
  const options = ctx.options as typeof ctx.options & { selector?: string; watch?: boolean };
  if (options.selector && !LABELLED.has(info.kind)) {
    throw new UsageError(
      `--selector: ${info.plural} have no labels (nodes, services, configs and the other stored kinds do)`,
    );
  }
  const selector = options.selector ? parseSelector(options.selector) : undefined;
  const fetchListing = () => listing(ctx, info, name, selector);
  const first = await fetchListing();
  printListing(ctx, info, first);
  if (!options.watch) return 0;
  const { watch } = await import("./watch.ts");
  return watch(ctx, first, fetchListing);
}

/** Kinds whose objects carry metadata.labels (what -l selects on). */
const LABELLED = new Set<string>([
  "Node",
  "Service",
  "Config",
  "Namespace",
  "Grant",
  "ImageMap",
  "JointMultiEdgeService",
  "RuntimeService",
]);
const EVENT_WORDS = new Set(["event", "events", "ev"]);

function printListing(ctx: CtlContext, info: KindInfo, l: Listing): void {
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(l.value));
  else if (output === "yaml") ctx.out(toYaml(l.value));
  else if (output.startsWith("jsonpath=")) ctx.out(renderJsonPath(output.slice("jsonpath=".length), l.value));
  else if (l.rows.length === 0) process.stderr.write(`No ${info.plural} found.\n`);
  else ctx.out(renderTable(l.headers, l.rows));
}

function labelsOf(item: unknown): Record<string, string> | undefined {
  return (item as { metadata?: { labels?: Record<string, string> } }).metadata?.labels;
}

async function listing(
  ctx: CtlContext,
  info: KindInfo,
  name: string | undefined,
  selector: Requirement[] | undefined,
): Promise<Listing> {
  const client = ctx.client();
  const wide = ctx.options.output === "wide";
  const now = Date.now();

  if (info.kind === "Route") {
    // `get routes [SERVICE] [--node N]`: the mesh routes the nodes reported.
    const params = new URLSearchParams();
    if (name) params.set("service", name);
    if (ctx.options.node) params.set("node", ctx.options.node);
    const query = params.size > 0 ? `?${params}` : "";
    const answer = await client.request<ListOf<RouteView>>("GET", `/routes${query}`);
    const rows = wide ? routeWideRows(answer.items, now) : routeRows(answer.items, now);
    return { headers: wide ? ROUTE_WIDE_HEADERS : ROUTE_HEADERS, rows, items: answer.items, value: answer };
  }

  if (info.kind === "Staging") {
    // `get staging [SERVICE] [--node N]`: what each node has fetched of the held-back generations.
    const params = new URLSearchParams();
    if (name) params.set("service", qualifiedName(ctx.options.namespace, name));
    if (ctx.options.node) params.set("node", ctx.options.node);
    const query = params.size > 0 ? `?${params}` : "";
    const answer = await client.request<ListOf<StagingRow>>("GET", `/staging${query}`);
    return {
      headers: STAGING_HEADERS,
      rows: stagingRows(answer.items, now),
      items: answer.items,
      value: answer,
    };
  }

  const namespace = ctx.options.namespace;
  if (info.kind === "Worker") {
    const query = name ? `?service=${encodeURIComponent(qualifiedName(namespace, name))}` : "";
    const answer = await client.request<ListOf<WorkerView>>("GET", `/workers${query}`);
    const rows = wide ? workerWideRows(answer.items, now) : workerRows(answer.items);
    return { headers: wide ? WORKER_WIDE_HEADERS : WORKER_HEADERS, rows, items: answer.items, value: answer };
  }

  const path = `/${info.plural}${name ? `/${encodeURIComponent(name)}` : ""}${namespaceQuery(ctx)}`;
  const answer = await client.request<unknown>("GET", path);
  const all = (name ? [answer] : (answer as ListOf<unknown>).items) as never[];
  const items = selector ? all.filter((item) => matchesSelector(labelsOf(item), selector)) : all;
  // A list prints as a List, which `levee ctl apply -f` reads back.
  const value = name ? answer : { apiVersion: "levee/v1", kind: "List", items };
  const [headers, rows] = await tableOf(client, info, items, name, namespace, wide, now);
  return { headers, rows, items, value };
}

async function tableOf(
  client: ApiClient,
  info: KindInfo,
  items: never[],
  name: string | undefined,
  namespace: string | undefined,
  wide: boolean,
  now: number,
): Promise<[string[], string[][]]> {
  switch (info.kind) {
    case "Node":
      return wide
        ? [NODE_WIDE_HEADERS, nodeWideRows(items as NodeView[], now)]
        : [NODE_HEADERS, nodeRows(items as NodeView[], now)];
    case "Service": {
      const query = name ? `?service=${encodeURIComponent(qualifiedName(namespace, name))}` : "";
      const workers = await client.request<ListOf<WorkerView>>("GET", `/workers${query}`);
      return wide
        ? [SERVICE_WIDE_HEADERS, serviceWideRows(items as StoredObject[], workers.items, now)]
        : [SERVICE_HEADERS, serviceRows(items as StoredObject[], workers.items, now)];
    }
    case "Config":
    case "Secret": // the API shows a Secret's keys and sizes only
      return [CONFIG_HEADERS, configRows(items as StoredObject[], now)];
    case "ImageMap":
      return [IMAGE_MAP_HEADERS, imageMapRows(items, now)];
    case "JointMultiEdgeService":
    case "RuntimeService":
      return [DAYU_HEADERS, dayuRows(items, now)];
    case "Namespace":
      return [NAMESPACE_HEADERS, namespaceRows(items as StoredObject[], now)];
    case "Grant":
      return [GRANT_HEADERS, grantRows(items as StoredObject[], now)];
    default:
      return [[], []];
  }
}

export async function describe(ctx: CtlContext): Promise<number> {
  const [word, name] = takeArgs(ctx.args, 2);
  const info = kindArgument(word, (k) => k.resource);
  if (name === undefined) throw new UsageError(`missing NAME: levee ctl describe ${info.singular} NAME`);
  const client = ctx.client();
  const object = await client.request<Record<string, unknown>>(
    "GET",
    `/${info.plural}/${encodeURIComponent(name)}${namespaceQuery(ctx)}`,
  );
  const out: Record<string, unknown> = { ...object };
  // Workers and events know a namespaced object by its key (src/manifest/namespace.ts).
  const key = info.kind === "Node" ? name : qualifiedName(ctx.options.namespace, name);
  const workers = await workersOf(client, info, key);
  if (workers) out.workers = workers;
  const events = await recentEvents(client, (e) => e.kind === info.kind && e.name === key);
  if (events) out.events = events.map(eventEntry);
  ctx.out(ctx.options.output === "json" ? toJson(out) : toYaml(out));
  return 0;
}

/** The workers of a service, or on a node, without the field they all share and empty fields. */
async function workersOf(client: ApiClient, info: KindInfo, name: string) {
  if (info.kind !== "Service" && info.kind !== "Node") return undefined;
  const field = info.kind === "Service" ? "service" : "node";
  const { items } = await client.request<ListOf<WorkerView>>(
    "GET",
    `/workers?${field}=${encodeURIComponent(name)}`,
  );
  return items.map((w) => {
    const { [field]: _shared, ...rest } = w;
    return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== null));
  });
}

function eventEntry(e: EventView): Record<string, string> {
  return { time: e.ts, reason: e.reason, ...(e.message ? { message: e.message } : {}) };
}
