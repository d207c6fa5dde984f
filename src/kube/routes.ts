// The Kubernetes API facade as a hono app: discovery, then every resource path (paths.ts) read
// from the backend (resources.ts), filtered by namespace and selectors, as a List, a Table
// (kubectl get) or a watch stream; writes go to the backend's writes or, where there are none
// (on a node), are forwarded to the cloud. Every request is authenticated and authorized
// (access.ts); every refusal is a Kubernetes Status (status.ts).
import { type Context, Hono } from "hono";
import { parseJsonWithin } from "../runtime/bounded-json.ts";
import type { Logger } from "../runtime/log.ts";
import { authorize, type KubeCaller, type Verb } from "./access.ts";
import type { KubeAuth, KubeBackend } from "./backend.ts";
import {
  coreVersions,
  groupDocument,
  groupList,
  OPENAPI_V2_PROTOBUF,
  openApiV2Protobuf,
  resourceList,
  versionDocument,
} from "./discovery.ts";
import type { KubeObject } from "./objects/meta.ts";
import { parseKubePath } from "./paths.ts";
import { type ResourceInfo, resourceInfo } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { KubeError, notFound, statusObject, successStatus } from "./status.ts";
import { toTable, wantsTable } from "./table.ts";
import { watchStream } from "./watch.ts";

/** Most watches open at once on one listener: each costs a re-read of its list at every change. */
export const MAX_WATCHES = 256;

/** Largest request body (a Dayu object with its pod templates). */
export const MAX_KUBE_BODY = 4 * 1024 * 1024;

export interface KubeApiOptions {
  backend: KubeBackend;
  auth: KubeAuth;
  log: Logger;
  leveeVersion: string;
  /** A node: sends what it cannot answer to the cloud, for `caller`. */
  forward?: (request: Request, body: string | undefined, caller: KubeCaller) => Promise<Response>;
}

type Env = { Variables: { caller: KubeCaller } };

const OPEN = new Set(["/version", "/healthz", "/readyz", "/livez"]);

export function kubeApiApp(options: KubeApiOptions): Hono<Env> {
  const { auth } = options;
  const app = new Hono<Env>();

  app.onError((err, c) => {
    if (err instanceof KubeError)
      return c.json(statusObject(err.reason, err.message, err.details), err.code as 400);
    options.log.error("kubernetes api error", { method: c.req.method, path: c.req.path, error: err });
    return c.json(statusObject("InternalError", "internal error (logged by the agent)"), 500);
  });
  app.notFound((c) =>
    c.json(statusObject("NotFound", "the server could not find the requested resource"), 404),
  );

  app.use(async (c, next) => {
    if (OPEN.has(c.req.path)) return next();
    const caller = await auth.authenticate(c.req.header("authorization"), c.req.raw.headers);
    if (!caller) {
      c.header("WWW-Authenticate", 'Bearer realm="levee"');
      throw new KubeError("Unauthorized", "Unauthorized: a valid bearer token is required");
    }
    c.set("caller", caller);
    return next();
  });

  app.get("/version", (c) => c.json(versionDocument(options.leveeVersion)));
  for (const path of ["/healthz", "/readyz", "/livez"]) app.get(path, (c) => c.text("ok"));
  app.get(
    "/openapi/v2",
    () => new Response(openApiV2Protobuf(), { headers: { "content-type": OPENAPI_V2_PROTOBUF } }),
  );
  app.get("/api", (c) => c.json(coreVersions()));
  app.get("/apis", (c) => c.json(groupList()));
  app.get("/api/v1", (c) => c.json(resourceList("v1")));
  app.get("/apis/:group", (c) => {
    const group = groupDocument(c.req.param("group"));
    if (!group) throw notFound("groups", c.req.param("group"));
    return c.json({ kind: "APIGroup", apiVersion: "v1", ...group });
  });
  app.get("/apis/:group/:version", (c) => {
    const list = resourceList(`${c.req.param("group")}/${c.req.param("version")}`);
    if (!list) throw new KubeError("NotFound", "the server could not find the requested resource");
    return c.json(list);
  });

  const watches = { open: 0 };
  app.all("/api/*", (c) => resourceRoute(c, options, watches));
  app.all("/apis/*", (c) => resourceRoute(c, options, watches));
  return app;
}

async function resourceRoute(
  c: Context<Env>,
  options: KubeApiOptions,
  watches: { open: number },
): Promise<Response> {
  const { backend, auth } = options;
  const path = parseKubePath(c.req.path);
  const info = path ? resourceInfo(path.group, path.version, path.resource) : undefined;
  if (!path || !info) throw new KubeError("NotFound", "the server could not find the requested resource");
  // `/api/v1/namespaces/NAME` is the Namespace itself.
  const namespace = info.namespaced ? path.namespace : undefined;
  if (info.namespaced === false && path.namespace !== undefined)
    throw new KubeError("NotFound", `${info.resource} are not namespaced`);
  const caller = c.get("caller");
  const method = c.req.method;
  const watch = isTrue(c.req.query("watch"));
  const verb: Verb =
    method === "GET"
      ? path.name !== undefined
        ? "get"
        : watch
          ? "watch"
          : "list"
      : method === "POST"
        ? "create"
        : method === "PUT"
          ? "update"
          : method === "PATCH"
            ? "patch"
            : method === "DELETE"
              ? "delete"
              : (() => {
                  throw new KubeError("MethodNotAllowed", `method ${method} is not supported`);
                })();
  if (path.subresource !== undefined && path.subresource !== "status")
    throw new KubeError(
      "NotFound",
      `${info.resource}/${path.subresource} is not served by levee (levee ctl logs shows a worker's output)`,
    );
  const request = {
    verb,
    resource: info.resource,
    group: info.group,
    namespace,
    ...(path.name ? { name: path.name } : {}),
  };
  const body = method === "POST" || method === "PUT" || method === "PATCH" ? await readBody(c) : undefined;
  // The objects, read once and only when the request needs them (a create, update or patch does not).
  let listed: { value: ReturnType<ResourceInfo["list"]> } | undefined;
  const readable = () => {
    listed ??= { value: info.list(backend) };
    return listed.value;
  };
  const reading = verb === "get" || verb === "list" || verb === "watch";
  const forwardable = reading ? readable() === undefined : !backend.writes;
  // What goes to the cloud is authorized there (with the Grants); the rest here.
  if (!forwardable || !options.forward) {
    const grants = caller.kind === "worker" ? auth.grants(caller.namespace, caller.serviceAccount) : [];
    authorize(caller, request, grants);
  }
  if (forwardable) {
    if (!options.forward)
      throw new KubeError(
        "ServiceUnavailable",
        `${info.resource} cannot be ${verb === "delete" ? "deleted" : "changed"} here`,
      );
    return options.forward(c.req.raw, body?.text, caller);
  }

  if (verb === "list" || verb === "watch") {
    if (verb === "watch") {
      if (watches.open >= MAX_WATCHES)
        throw new KubeError(
          "TooManyRequests",
          `too many watches open on this agent (at most ${MAX_WATCHES}); try again later`,
        );
      watches.open++;
      const stream = watchStream(backend, {
        onEnd: () => watches.open--,
        // Each change is a new read.
        read: () => select(c, info, info.list(backend) ?? [], namespace),
        resourceVersion: c.req.query("resourceVersion"),
        timeoutSeconds: numberOr(c.req.query("timeoutSeconds")),
        signal: c.req.raw.signal,
      });
      return new Response(stream, {
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    }
    const items = select(c, info, readable() ?? [], namespace);
    const rv = String(backend.revision());
    if (wantsTable(c.req.header("accept"))) return c.json(toTable(info.resource, items, rv));
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    return c.json({ kind: `${info.kind}List`, apiVersion, metadata: { resourceVersion: rv }, items });
  }

  const name = path.name as string;
  const find = () =>
    (readable() ?? []).find(
      (l) =>
        l.object.metadata.name === name &&
        (namespace === undefined || l.object.metadata.namespace === namespace),
    )?.object;
  if (verb === "get") {
    const object = find();
    if (!object) throw notFound(info.resource, name, info.group);
    if (wantsTable(c.req.header("accept")))
      return c.json(toTable(info.resource, [object], String(backend.revision())));
    return c.json(object);
  }
  return c.json(...(await write(c, options, info, verb, namespace, path.name, body, find)));
}

/** A write, on the cloud: what Kubernetes answers for it, and the status code. */
async function write(
  c: Context<Env>,
  options: KubeApiOptions,
  info: ResourceInfo,
  verb: Verb,
  namespace: string | undefined,
  name: string | undefined,
  body: { text: string; value: unknown } | undefined,
  find: () => KubeObject | undefined,
): Promise<[unknown, 200 | 201]> {
  const writes = options.backend.writes;
  if (!writes) throw new KubeError("ServiceUnavailable", "writes are not served here");
  const sedna = info.group === "sedna.io";
  if (info.resource === "serviceaccounts" || info.resource === "clusterrolebindings") {
    if (verb === "create") return [writes.createRbac(info.resource, namespace, body?.value), 201];
    if (verb === "patch" || verb === "update") {
      const json = (c.req.header("content-type") ?? "").includes("json-patch");
      if (verb === "update" && body?.value && typeof body.value === "object") {
        // A replace is a merge of the whole object over the stored one.
        return [writes.patchRbac(info.resource, namespace, name as string, body.value, "merge"), 200];
      }
      return [
        writes.patchRbac(info.resource, namespace, name as string, body?.value, json ? "json" : "merge"),
        200,
      ];
    }
    if (verb === "delete") {
      const object = find();
      writes.deleteRbac(info.resource, namespace, name as string);
      return [
        successStatus({
          name: name as string,
          group: info.group,
          kind: info.resource,
          uid: object?.metadata.uid ?? "",
        }),
        200,
      ];
    }
  }
  if (verb === "create") {
    if (sedna) return [writes.createSedna(info.kind, namespace as string, body?.value), 201];
    if (info.resource === "namespaces") {
      const created = (body?.value as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
      if (typeof created !== "string")
        throw new KubeError("Invalid", "Namespace is invalid: metadata.name: Required value", {
          kind: "Namespace",
          causes: [{ reason: "FieldValueRequired", message: "Required value", field: "metadata.name" }],
        });
      return [writes.createNamespace(created), 201];
    }
  }
  if (sedna && verb === "update")
    return [writes.replaceSedna(info.kind, namespace as string, name as string, body?.value), 200];
  if (sedna && verb === "patch") {
    const type = (c.req.header("content-type") ?? "").includes("json-patch") ? "json" : "merge";
    if ((c.req.header("content-type") ?? "").includes("strategic-merge-patch"))
      throw new KubeError(
        "BadRequest",
        "strategic merge patch is not supported for custom resources: use a merge patch (--type merge)",
      );
    return [writes.patchSedna(info.kind, namespace as string, name as string, body?.value, type), 200];
  }
  if (verb === "delete") {
    const object = find();
    if (!object) throw notFound(info.resource, name as string, info.group);
    const details = {
      name: name as string,
      group: info.group,
      kind: info.resource,
      uid: object.metadata.uid,
    };
    if (sedna) {
      writes.deleteSedna(info.kind, namespace as string, name as string);
      return [successStatus(details), 200];
    }
    if (info.resource === "pods") {
      const containerIds = (
        (object.status as { containerStatuses?: { containerID: string }[] }).containerStatuses ?? []
      ).map((s) => s.containerID);
      const workers = containerIds.map((id) => id.replace(/^levee:\/\//, "").split("/"));
      const [service, node] = workers[0] ?? [];
      if (service && node)
        writes.restartPod(
          service,
          node,
          workers.map((w) => Number(w[2])),
        );
      return [object, 200];
    }
    if (info.resource === "namespaces") {
      writes.deleteNamespace(name as string);
      return [{ ...object, status: { phase: "Terminating" } }, 200];
    }
    // A Service or Deployment goes with its Dayu object; deleting it alone changes nothing.
    return [successStatus(details), 200];
  }
  throw new KubeError("MethodNotAllowed", `${verb} is not supported for ${info.resource}`);
}

function select(
  c: Context,
  info: ResourceInfo,
  listed: ReturnType<ResourceInfo["list"]> & {},
  namespace: string | undefined,
): KubeObject[] {
  const labels = parseLabelSelector(c.req.query("labelSelector"));
  const fields = parseFieldSelector(c.req.query("fieldSelector"), info.fields);
  const limit = numberOr(c.req.query("limit"));
  const out = listed
    .filter((l) => namespace === undefined || l.object.metadata.namespace === namespace)
    .filter((l) => labels(l.object.metadata.labels ?? {}) && fields(l.fields))
    .map((l) => l.object);
  return limit !== undefined && limit > 0 ? out.slice(0, limit) : out;
}

async function readBody(c: Context): Promise<{ text: string; value: unknown }> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_KUBE_BODY)
    throw new KubeError("RequestEntityTooLarge", `request body larger than ${MAX_KUBE_BODY} bytes`);
  const text = await c.req.text();
  const parsed = parseJsonWithin(text, "the request body", { maxBytes: MAX_KUBE_BODY });
  if (!parsed.ok) {
    if (parsed.problem === "too-large") throw new KubeError("RequestEntityTooLarge", parsed.reason);
    throw new KubeError("BadRequest", `${parsed.reason} (levee's Kubernetes API reads JSON bodies)`);
  }
  return { text, value: parsed.value };
}

/** A boolean query parameter as the API server reads one (Go's ParseBool): the Python client sends `True`. */
const TRUE_VALUES = new Set(["1", "t", "T", "true", "TRUE", "True"]);
export const isTrue = (v: string | null | undefined) => v !== null && v !== undefined && TRUE_VALUES.has(v);
function numberOr(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new KubeError("BadRequest", `expected a number, got ${JSON.stringify(v)}`);
  return n;
}
