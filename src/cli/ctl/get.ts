// `levee ctl get KIND [NAME]` and `levee ctl describe KIND NAME`.
//
// get: a table (nodes, services, configs, workers), or JSON or YAML (-o): one object as the API
// serves it, a list as a `kind: List` (which apply reads back). For workers, NAME is a service:
// `get workers echo` lists the workers of echo (-o json/yaml: the API's `{items: [...]}`).
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
import { type KindInfo, kindArgument } from "./kinds.ts";
import type { EventView, ListOf, NodeView, RouteView, StoredObject, WorkerView } from "./types.ts";

export async function get(ctx: CtlContext): Promise<number> {
  const [word, name] = takeArgs(ctx.args, 2);
  const info = kindArgument(word);
  const client = ctx.client();
  const { output } = ctx.options;

  if (info.kind === "Route") {
    // `get routes [SERVICE] [--node N]`: the mesh routes the nodes reported.
    const params = new URLSearchParams();
    if (name) params.set("service", name);
    if (ctx.options.node) params.set("node", ctx.options.node);
    const query = params.size > 0 ? `?${params}` : "";
    const answer = await client.request<ListOf<RouteView>>("GET", `/routes${query}`);
    if (output !== "table") return print(ctx, answer);
    return table(ctx, info, ROUTE_HEADERS, routeRows(answer.items, Date.now()));
  }

  const namespace = ctx.options.namespace;
  if (info.kind === "Worker") {
    const query = name ? `?service=${encodeURIComponent(qualifiedName(namespace, name))}` : "";
    const answer = await client.request<ListOf<WorkerView>>("GET", `/workers${query}`);
    if (output !== "table") return print(ctx, answer);
    return table(ctx, info, WORKER_HEADERS, workerRows(answer.items));
  }

  const path = `/${info.plural}${name ? `/${encodeURIComponent(name)}` : ""}${namespaceQuery(ctx)}`;
  const answer = await client.request<unknown>("GET", path);
  const items = (name ? [answer] : (answer as ListOf<unknown>).items) as never[];
  // A list prints as a List, which `levee ctl apply -f` reads back.
  if (output !== "table") return print(ctx, name ? answer : { apiVersion: "levee/v1", kind: "List", items });
  const now = Date.now();
  switch (info.kind) {
    case "Node":
      return table(ctx, info, NODE_HEADERS, nodeRows(items as NodeView[], now));
    case "Service": {
      const query = name ? `?service=${encodeURIComponent(qualifiedName(namespace, name))}` : "";
      const workers = await client.request<ListOf<WorkerView>>("GET", `/workers${query}`);
      return table(ctx, info, SERVICE_HEADERS, serviceRows(items as StoredObject[], workers.items, now));
    }
    case "Config":
    case "Secret": // the API shows a Secret's keys and sizes only
      return table(ctx, info, CONFIG_HEADERS, configRows(items as StoredObject[], now));
    case "ImageMap":
      return table(ctx, info, IMAGE_MAP_HEADERS, imageMapRows(items, now));
    case "JointMultiEdgeService":
    case "RuntimeService":
      return table(ctx, info, DAYU_HEADERS, dayuRows(items, now));
    case "Namespace":
      return table(ctx, info, NAMESPACE_HEADERS, namespaceRows(items as StoredObject[], now));
    case "Grant":
      return table(ctx, info, GRANT_HEADERS, grantRows(items as StoredObject[], now));
  }
}

function print(ctx: CtlContext, value: unknown): number {
  ctx.out(ctx.options.output === "yaml" ? toYaml(value) : toJson(value));
  return 0;
}

function table(ctx: CtlContext, info: KindInfo, headers: string[], rows: string[][]): number {
  if (rows.length === 0) process.stderr.write(`No ${info.plural} found.\n`);
  else ctx.out(renderTable(headers, rows));
  return 0;
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
