// GET /api/v1/openapi.json: the API's OpenAPI 3.1 document (openapi.ts), built once from the
// routes' descriptions when first asked for. Open to anyone, like the health endpoints: it says
// what the API is (as the README does), nothing about the cluster; load it into any OpenAPI
// viewer or client generator. Also the descriptions of the health endpoints, which shared code
// mounts (src/runtime/health.ts), and the groups (tags) routes are listed under.
import { openApiDocument } from "./openapi.ts";
import type { ApiRoutes, RouteRegistry } from "./route-registry.ts";

export const OPENAPI_PATH = "/openapi.json";

export const API_TAGS = [
  { name: "health", description: "Liveness and readiness, for probes and humans." },
  { name: "nodes", description: "Joining, and what nodes call with their own credentials." },
  { name: "objects", description: "Desired state: apply, list, get and delete levee's kinds." },
  { name: "dayu", description: "Dayu's kinds (JointMultiEdgeService, RuntimeService) with their status." },
  {
    name: "rollout",
    description: "The kept generations of Services and Dayu objects, and rolling back to one.",
  },
  { name: "workers", description: "The workers, their routes, restarts and logs." },
  { name: "artifacts", description: "Content-addressed blobs that workers mount." },
  { name: "upgrades", description: "Agent upgrade rollouts: batches, health gates, automatic rollback." },
  { name: "cluster", description: "Events, backups and the files for an external broker." },
  {
    name: "kubernetes",
    description:
      "The Kubernetes API facade: served under /kube/ on this port (nodes forward their workers' requests there) and at /api and /apis on --kube-listen. It is Kubernetes-shaped and follows the Kubernetes API reference, so its paths are not listed here.",
  },
  {
    name: "metrics",
    description:
      "Prometheus: the cloud's metrics, every node's through the cloud, and HTTP service discovery for one scrape config (README, Metrics).",
  },
  {
    name: "dashboard",
    description:
      "The data the web dashboard's pages read (a dashboard session's cookie, not the admin token). The pages themselves (/ui, /ui/services, ..., the login form and the static files) are HTML for browsers and not listed.",
  },
  { name: "meta", description: "This document." },
] as const;

/** Documents the health endpoints that mountHealthRoutes serves at the root of the app. */
export function describeHealthRoutes(root: ApiRoutes): void {
  const health = { tag: "health", auth: "none" } as const;
  root.mounted({
    ...health,
    method: "get",
    path: "/healthz",
    summary: "Liveness: answers while the process runs",
    responses: { 200: '{status: "ok", mode, node, version}' },
  });
  root.mounted({
    ...health,
    method: "get",
    path: "/readyz",
    summary: "Readiness: 200 when every check passes, else 503 naming the ones that do not",
    responses: { 200: '{status: "ready", checks}', 503: '{status: "not ready", checks}' },
  });
}

export function mountOpenApiRoute(api: ApiRoutes, registry: RouteRegistry, version: string): void {
  let document: Record<string, unknown> | undefined;
  const spec = {
    method: "get",
    path: OPENAPI_PATH,
    summary: "This document (OpenAPI 3.1)",
    tag: "meta",
    auth: "none",
    responses: { 200: "the OpenAPI document" },
  } as const;
  api.add(spec, (c) => {
    document ??= openApiDocument(registry.routes, { version, tags: API_TAGS });
    return c.json(document);
  });
}
