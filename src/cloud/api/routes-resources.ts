// Resource routes of the cloud API: apply (YAML or JSON, multi-document, all or nothing), get,
// list, delete, the workers view and the event stream. Dayu's kinds: src/cloud/dayu/routes.ts.
import type { MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { manifestKinds } from "../../manifest/kinds.ts";
import { kindInfo, parseManifests } from "../../manifest/manifest.ts";
import { describeKey, keyOf, objectKey, qualifiedName, refOf } from "../../manifest/namespace.ts";
import type { Store } from "../../store/store.ts";
import { ApiError } from "../api-error.ts";
import type { ApplyResult, ControlPlane, LeveeEvent } from "../control-plane.ts";
import { mountDayuRoutes } from "../dayu/routes.ts";
import { listRoutes, nodeExists } from "../link/sync-store.ts";
import { deleteNode, getNode, listNodes } from "../node-registry.ts";
import { pinnedToUnknownNodes } from "../planner.ts";
import { unplacedWorkers } from "../unplaced-store.ts";
import { listWorkers, unjoinedWorkers } from "../workers-view.ts";
import { apiError, notFound, parseQuery } from "./errors.ts";
import { namespaceParam, objectParams, objectRouteSpecs } from "./object-params.ts";
import { jsonSchemaOf } from "./openapi.ts";
import type { ApiRoutes } from "./route-registry.ts";

/** What else must happen when nodes change through the API. */
export interface ResourceHooks {
  /** After a node was deleted (its MQTT credentials are gone). */
  onNodeDeleted?: (name: string) => void;
}

const NODE = { name: "the node" };
const routesQuery = z.object({
  node: z.string().optional().describe("only the routes of this node"),
  service: z.string().optional().describe("only the routes of this service"),
});
const workersQuery = z.object({
  service: z.string().optional().describe("only this service's workers"),
  namespace: z.string().optional().describe("the service's namespace (default: default)"),
  node: z.string().optional().describe("only the workers on this node"),
});
const applyQuery = z.object({
  dryRun: z
    .enum(["true", "false"], { error: "expected true or false" })
    .optional()
    .describe(
      "true: answer what the apply would do (the same answer, and the same refusals) and store nothing",
    ),
  staged: z
    .enum(["per-node", "all-nodes"], { error: "expected per-node or all-nodes" })
    .optional()
    .describe(
      "stage every Service of the apply whose spec.rollout.staging is off or unset: its nodes fetch the new generation's artifacts first (levee ctl apply --staged)",
    ),
});
const eventsQuery = z.object({
  since: z.string().optional().describe("every event after this id (default: the newest 100)"),
});

/** What POST /apply takes: one or more manifests of any kind, as the kinds' schemas say. */
function manifestSchema(): Record<string, unknown> {
  return {
    description: "a manifest of any kind; a YAML body may hold several documents separated by ---",
    anyOf: manifestKinds.map((k) => ({
      title: `${k.apiVersion} ${k.kind}`,
      ...jsonSchemaOf(k.schema, "input"),
    })),
  };
}

/** `guard` (the admin token and the body limit) is on every route. */
export function mountResourceRoutes(
  api: ApiRoutes,
  store: Store,
  plane: ControlPlane,
  guard: MiddlewareHandler,
  hooks: ResourceHooks = {},
): void {
  const apply = {
    method: "post",
    path: "/apply",
    summary: "Apply manifests: all of them or nothing",
    tag: "objects",
    auth: "admin",
    query: applyQuery,
    body: {
      contentType: ["application/yaml", "application/json"],
      description: "manifests (YAML, several documents; or JSON)",
      schema: manifestSchema,
    },
    responses: {
      200: "{results: [{kind, name, namespace?, outcome, generation, changes? (dry run: [{path, op, before?, after?}])}], nodes: [{node, revision, workers: [{service, index, change: added|replaced|updated|stopped, generation?}]}], dryRun?: true, warnings?}",
      409: "a conflict; nothing was applied",
    },
  } as const;
  api.add(apply, guard, async (c) => {
    const query = parseQuery(c, applyQuery);
    const dryRun = query.dryRun === "true";
    const body = await c.req.text();
    const parsed = parseManifests(body, c.req.header("content-type"));
    if (!parsed.ok) return apiError(c, 400, "invalid manifest; nothing was applied", parsed.issues);
    if (query.staged) stageServices(parsed.objects, query.staged);
    // Every document holds one object (toResources is the identity for every kind), so an
    // object's index is its document number. Issues name objects by key (src/manifest/namespace.ts).
    const documentOf = (kind: string, name: string) => {
      const i = parsed.objects.findIndex((o) => o.kind === kind && keyOf(o) === name);
      return i >= 0 ? { document: i } : {};
    };
    try {
      const { results: applied, nodes } = plane.applyPlan(parsed.objects, { dryRun });
      const warnings = applied.flatMap((r) =>
        applyWarnings(r, documentOf(r.kind, objectKey(r.kind, r.namespace, r.name))),
      );
      const results = applied.map(({ warnings: _, ...result }) => result);
      return c.json({
        results,
        nodes,
        ...(dryRun ? { dryRun: true } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      });
    } catch (err) {
      // The same refusal, with the document each issue is about and what it means for the rest.
      if (!(err instanceof ApiError)) throw err;
      // Issues name objects by key: shown as name and namespace.
      const issues = err.issues?.map((issue) => ({
        ...(issue.kind && issue.name ? documentOf(issue.kind, issue.name) : {}),
        ...issue,
        ...(issue.kind && issue.name ? refOf(issue.kind, issue.name) : {}),
      }));
      const what = dryRun ? "the apply would be refused" : "nothing was applied";
      throw new ApiError(err.status, `${err.message}; ${what}`, issues ? { issues } : {});
    }
  });

  const nodes = { tag: "nodes", auth: "admin" } as const;
  api.add(
    {
      ...nodes,
      method: "get",
      path: "/nodes",
      summary: "List the nodes",
      responses: { 200: "{items: [node]}" },
    },
    guard,
    (c) => c.json({ items: listNodes(store) }),
  );
  api.add(
    {
      ...nodes,
      method: "get",
      path: "/nodes/:name",
      summary: "One node: phase, addresses, plan revisions, usage",
      params: NODE,
      responses: { 200: "the node", 404: "no such node" },
    },
    guard,
    (c) => {
      const node = getNode(store, c.req.param("name"));
      return node ? c.json(node) : apiError(c, 404, notFound("node", c.req.param("name")));
    },
  );
  const deleteNodeSpec = {
    ...nodes,
    method: "delete",
    path: "/nodes/:name",
    summary: "Delete a node (its credentials stop working)",
    params: NODE,
    responses: { 200: '{deleted: {kind: "Node", name}}', 404: "no such node" },
  } as const;
  api.add(deleteNodeSpec, guard, (c) => {
    const name = c.req.param("name");
    if (!deleteNode(store, name)) return apiError(c, 404, notFound("node", name));
    hooks.onNodeDeleted?.(name);
    plane.replan(`node ${name} deleted`);
    return c.json({ deleted: { kind: "Node", name } });
  });

  const routesSpec = {
    method: "get",
    path: "/routes",
    summary: "The mesh routes each node has to each service",
    tag: "workers",
    auth: "admin",
    query: routesQuery,
    responses: { 200: "{items: [route]}", 404: "no such node" },
  } as const;
  api.add(routesSpec, guard, (c) => {
    const node = c.req.query("node");
    const service = c.req.query("service");
    const rows = listRoutes(store, { node, service });
    if (node && rows.length === 0 && !nodeExists(store, node)) {
      return apiError(c, 404, notFound("node", node));
    }
    return c.json({ items: rows });
  });

  const workersSpec = {
    method: "get",
    path: "/workers",
    summary: "The workers: placed, running, waiting for a node",
    tag: "workers",
    auth: "admin",
    query: workersQuery,
    responses: { 200: "{items: [worker]}" },
  } as const;
  api.add(workersSpec, guard, (c) => {
    // ?service=NAME[&namespace=NS]: the workers of one service (known by its key).
    const name = c.req.query("service");
    const service = name ? qualifiedName(namespaceParam(c.req.query("namespace")), name) : undefined;
    const node = c.req.query("node");
    const filter = { ...(service ? { service } : {}), ...(node ? { node } : {}) };
    const services = plane.list("Service").map((o) => ({
      name: o.metadata.name,
      uid: o.metadata.uid,
      generation: o.metadata.generation,
      spec: o.spec as never,
    }));
    const pins = pinnedToUnknownNodes({
      services,
      configs: [],
      nodes: listNodes(store).map((n) => ({ name: n.metadata.name, labels: {}, phase: "" })),
      resolveTemplate: () => ({}),
    });
    const pending = unjoinedWorkers(pins).filter(
      (w) => (!service || w.service === service) && (!node || w.node === node),
    );
    return c.json({ items: [...listWorkers(store, filter), ...unplacedWorkers(store, filter), ...pending] });
  });

  const eventsSpec = {
    method: "get",
    path: "/events",
    summary: "The events, as server-sent events (the backlog, then live)",
    tag: "cluster",
    auth: "admin",
    query: eventsQuery,
    responses: {
      200: {
        description: "event: event (data: the event as JSON), and event: ping every 15 s",
        body: { contentType: "text/event-stream", description: "server-sent events" },
      },
    },
  } as const;
  api.add(eventsSpec, guard, (c) =>
    streamSSE(c, async (stream) => {
      // Listen first, then read the backlog: an event committed in between is in one or the other
      // (or both: the id check skips the duplicate), never lost.
      const queue: LeveeEvent[] = [];
      let wake: (() => void) | undefined;
      const listener = (event: LeveeEvent) => {
        queue.push(event);
        wake?.();
      };
      plane.events.on("event", listener);
      stream.onAbort(() => {
        plane.events.off("event", listener);
        wake?.();
      });
      // ?since=ID: everything after that event; otherwise the newest 100 (oldest first).
      const since = Number(c.req.query("since"));
      const backlog = Number.isFinite(since)
        ? store.db
            .query<LeveeEvent, [number]>("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT 10000")
            .all(since)
        : store.db.query<LeveeEvent, []>("SELECT * FROM events ORDER BY id DESC LIMIT 100").all().reverse();
      let lastId = Number.isFinite(since) ? since : 0;
      const send = async (event: LeveeEvent) => {
        if (event.id <= lastId) return;
        lastId = event.id;
        await stream.writeSSE({ id: String(event.id), event: "event", data: JSON.stringify(event) });
      };
      for (const event of backlog) await send(event);
      while (!stream.aborted) {
        const next = queue.shift();
        if (next) {
          await send(next);
          continue;
        }
        await Promise.race([new Promise<void>((r) => (wake = r)), stream.sleep(15_000)]);
        if (queue.length === 0 && !stream.aborted) await stream.writeSSE({ event: "ping", data: "{}" });
      }
      plane.events.off("event", listener);
    }),
  );

  mountDayuRoutes(api, store, plane, guard);
  // ?namespace=NS: one namespace (lists: all when absent; one object: `default` when absent).
  for (const plural of ["services", "configs", "secrets", "imagemaps", "namespaces", "grants"] as const) {
    const specs = objectRouteSpecs(plural, kindInfo(plural)?.kind ?? plural, "objects", {
      list: "{items: [object]}",
      get: "the object with its metadata and status",
      remove: "{deleted: {kind, name}, alsoDeleted?}",
      conflict: "made from a Dayu object: delete that one",
    });
    api.add(specs.list, guard, (c) => {
      const kind = kindInfo(plural)?.kind ?? plural;
      const namespace = namespaceParam(c.req.query("namespace"));
      return c.json({ items: plane.list(kind, namespace ? { namespace } : {}) });
    });
    api.add(specs.get, guard, (c) => {
      const kind = kindInfo(plural)?.kind ?? plural;
      const { name, namespace, key } = objectParams(kind, c.req.param("name"), c.req.query("namespace"));
      const object = plane.get(kind, name, namespace);
      return object ? c.json(object) : apiError(c, 404, notFound(kind, describeKey(key)));
    });
    api.add(specs.remove, guard, (c) => {
      const kind = kindInfo(plural)?.kind ?? plural;
      const { key } = objectParams(kind, c.req.param("name"), c.req.query("namespace"));
      // An object made from a Dayu object is deleted with it, not on its own (a 409 ApiError,
      // answered by the app's error handler).
      const deleted = plane.delete(kind, key);
      if (!deleted) return apiError(c, 404, notFound(kind, describeKey(key)));
      const [self, ...alsoDeleted] = deleted.map((r) => refOf(r.kind, r.name));
      return c.json({ deleted: self, ...(alsoDeleted.length > 0 ? { alsoDeleted } : {}) });
    });
  }
}

/** The warnings of one applied object, flat for the answer: {document, kind, name, path, message}. */
function applyWarnings(result: ApplyResult, where: { document?: number }) {
  return (result.warnings ?? []).map((w) => ({ ...where, kind: result.kind, name: result.name, ...w }));
}

/** `apply --staged`: the Services that do not choose a staging get this one. */
function stageServices(
  objects: readonly { kind: string; spec?: unknown }[],
  staging: "per-node" | "all-nodes",
): void {
  for (const object of objects) {
    if (object.kind !== "Service") continue;
    const spec = object.spec as { rollout?: { staging?: string } };
    if (!spec.rollout?.staging || spec.rollout.staging === "off") spec.rollout = { ...spec.rollout, staging };
  }
}
