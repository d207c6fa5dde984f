// What the facade's routes need from where they are served. The cloud answers from its store and
// applies writes through its control plane; a node answers reads from the view it got with the
// mesh catalog and its own usage table, and forwards what it cannot answer (writes, the Sedna
// objects themselves) to the cloud.
import type { GrantRule, KubeCaller } from "./access.ts";
import type { KubeObject } from "./objects/meta.ts";
import type { Usage } from "./objects/metrics.ts";
import type { ApiAddress } from "./objects/services.ts";
import type { KubeView } from "./view.ts";

export interface SednaObjects {
  list(kind: string, namespace: string | undefined): KubeObject[];
  get(kind: string, namespace: string, name: string): KubeObject | undefined;
}

/** ServiceAccounts and ClusterRoleBindings as written (the cloud's). */
export interface RbacReads {
  list(resource: string, namespace: string | undefined): KubeObject[];
}

/** Writes, on the cloud. Each throws a KubeError when refused (Invalid, Conflict, NotFound...). */
export interface KubeWrites {
  createSedna(kind: string, namespace: string, body: unknown): KubeObject;
  replaceSedna(kind: string, namespace: string, name: string, body: unknown): KubeObject;
  /** A JSON merge patch (RFC 7386) or a JSON patch (RFC 6902) of the object as served. */
  patchSedna(
    kind: string,
    namespace: string,
    name: string,
    patch: unknown,
    type: "merge" | "json",
  ): KubeObject;
  deleteSedna(kind: string, namespace: string, name: string): void;
  /** Restarts the workers a pod stands for (levee key, node, worker indexes). */
  restartPod(service: string, node: string, indexes: readonly number[]): void;
  createNamespace(name: string): KubeObject;
  deleteNamespace(name: string): void;
  createRbac(resource: string, namespace: string | undefined, body: unknown): KubeObject;
  patchRbac(
    resource: string,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: "merge" | "json",
  ): KubeObject;
  deleteRbac(resource: string, namespace: string | undefined, name: string): void;
}

export interface KubeBackend {
  view(): KubeView;
  /** Grows whenever anything the facade shows may have changed (the resourceVersion of lists). */
  revision(): number;
  /** Called after such a change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Where this API is, for `default/kubernetes`. */
  apiAddress(): ApiAddress;
  workerUsage(service: string, node: string, index: number): Usage | undefined;
  nodeUsage(node: string): Usage | undefined;
  /** The cloud's; undefined on a node (forwarded). */
  sedna?: SednaObjects;
  rbac?: RbacReads;
  writes?: KubeWrites;
}

/** Who is calling and what they may do: the cloud and the nodes answer differently. */
export interface KubeAuth {
  /** The caller of a request, from its Authorization header (and others); undefined: 401. */
  authenticate(
    authorization: string | undefined,
    headers: Headers,
  ): KubeCaller | undefined | Promise<KubeCaller | undefined>;
  /** The Grant rules of a service account in a namespace. */
  grants(namespace: string, serviceAccount: string): GrantRule[];
}
