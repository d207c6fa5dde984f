// Who may do what through the Kubernetes API facade. Callers: the admin (the cloud's admin token:
// everything), a worker (its own token, valid while it runs), or nothing (401). A worker may by
// default read (get, list, watch) in its own namespace, read nodes and its own namespace object,
// the discovery documents, the CRDs and where the API is (default/kubernetes); anything else needs a Grant the operator applied in that
// namespace, naming the worker's service account, the verbs and the resources. Cluster-wide
// writes (namespaces) stay with the admin. A refusal is a Forbidden worded as Kubernetes words it.
// Pure.
import { KubeError } from "./status.ts";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";
const READ_VERBS: readonly Verb[] = ["get", "list", "watch"];

export interface WorkerCaller {
  kind: "worker";
  namespace: string;
  serviceAccount: string;
  /** The levee worker: its service key, node and index. */
  service: string;
  node: string;
  index: number;
}

export type KubeCaller = { kind: "admin" } | WorkerCaller;

export interface GrantRule {
  verbs: readonly string[];
  /** Plurals (`pods`, `jointmultiedgeservices`), or "*". */
  resources: readonly string[];
}

export interface Request {
  verb: Verb;
  /** The plural, e.g. pods; group "" for the core group. */
  resource: string;
  group: string;
  /** Undefined for cluster-scoped resources (and lists across namespaces). */
  namespace: string | undefined;
  name?: string;
}

const API_RESOURCES = new Set(["endpoints", "services"]);

/** Cluster-scoped resources a worker may read by default. */
const READABLE_CLUSTER = new Set(["nodes", "customresourcedefinitions"]);

export function userName(caller: KubeCaller): string {
  return caller.kind === "admin"
    ? "levee:admin"
    : `system:serviceaccount:${caller.namespace}:${caller.serviceAccount}`;
}

/** Throws Forbidden unless `caller` may make `request`; `grants` are the rules for its account. */
export function authorize(caller: KubeCaller, request: Request, grants: readonly GrantRule[]): void {
  if (caller.kind === "admin") return;
  const { verb, resource, namespace } = request;
  const read = READ_VERBS.includes(verb);
  if (read && namespace === undefined && READABLE_CLUSTER.has(resource)) return;
  if (read && resource === "namespaces" && request.name === caller.namespace) return;
  // Where the API itself is (Dayu reads default/kubernetes to point its components at it).
  if (read && namespace === "default" && request.name === "kubernetes" && API_RESOURCES.has(resource)) return;
  if (namespace === caller.namespace) {
    if (read) return;
    const granted = grants.some(
      (g) =>
        (g.verbs.includes(verb) || g.verbs.includes("*")) &&
        (g.resources.includes(resource) || g.resources.includes("*")),
    );
    if (granted) return;
  }
  throw forbidden(caller, request);
}

export function forbidden(caller: KubeCaller, request: Request): KubeError {
  const what = request.group ? `${request.resource}.${request.group}` : request.resource;
  const target = request.name ? `${what} "${request.name}"` : what;
  const scope =
    request.namespace === undefined ? "at the cluster scope" : `in the namespace "${request.namespace}"`;
  const hint =
    caller.kind === "worker" && request.namespace === caller.namespace
      ? ` (a levee Grant in namespace ${caller.namespace} for service account ${caller.serviceAccount} can allow it)`
      : "";
  return new KubeError(
    "Forbidden",
    `${target} is forbidden: User "${userName(caller)}" cannot ${request.verb} resource "${request.resource}" in API group "${request.group}" ${scope}${hint}`,
    { kind: request.resource, group: request.group, ...(request.name ? { name: request.name } : {}) },
  );
}
