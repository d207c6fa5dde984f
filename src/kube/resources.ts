// The resources the facade serves and how each is read: which group/version, whether it is
// namespaced, which fields a fieldSelector may name, and its objects (projected from the view, or
// the Sedna objects as stored). Pure over the backend's reads.
import type { KubeBackend } from "./backend.ts";
import { crdObject, SEDNA_GROUP, SEDNA_KINDS } from "./objects/crds.ts";
import { deploymentObject } from "./objects/deployments.ts";
import type { KubeObject } from "./objects/meta.ts";
import { nodeMetricsObject, podMetricsObject } from "./objects/metrics.ts";
import { namespaceObject } from "./objects/namespaces.ts";
import { nodeLabels, nodeObject } from "./objects/nodes.ts";
import { podObject } from "./objects/pods.ts";
import {
  apiEndpointsObject,
  apiServiceObject,
  endpointsObject,
  hasService,
  serviceObject,
} from "./objects/services.ts";
import type { KubeNode } from "./view.ts";

export interface Listed {
  object: KubeObject;
  /** The values fieldSelectors compare. */
  fields: Record<string, string>;
}

export interface ResourceInfo {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  fields: readonly string[];
  /** Every object (all namespaces), or undefined when the backend cannot read them (forward). */
  list(backend: KubeBackend): Listed[] | undefined;
}

const META_FIELDS = ["metadata.name", "metadata.namespace"];

const listed = (object: KubeObject, extra: Record<string, string> = {}): Listed => ({
  object,
  fields: {
    "metadata.name": object.metadata.name,
    "metadata.namespace": object.metadata.namespace ?? "",
    ...extra,
  },
});

/**
 * A list made from the view alone, built once per view (the backends keep the same view object
 * until it changes): building 500 pods (names, uids, content hashes) cost ~10 ms of CPU a request.
 * The objects are shared by every answer made from that view; nothing changes them.
 */
function perView(build: (backend: KubeBackend) => Listed[]): (backend: KubeBackend) => Listed[] {
  const built = new WeakMap<object, Listed[]>();
  return (backend) => {
    const view = backend.view();
    let list = built.get(view);
    if (!list) {
      list = build(backend);
      built.set(view, list);
    }
    return list;
  };
}

function nodeMap(backend: KubeBackend): Map<string, KubeNode> {
  return new Map(backend.view().nodes.map((n) => [n.name, n]));
}

const core = (
  resource: string,
  kind: string,
  namespaced: boolean,
  fields: readonly string[],
  list: ResourceInfo["list"],
): ResourceInfo => ({
  group: "",
  version: "v1",
  resource,
  kind,
  namespaced,
  fields: [...META_FIELDS, ...fields],
  list,
});

export const RESOURCES: readonly ResourceInfo[] = [
  core(
    "namespaces",
    "Namespace",
    false,
    ["status.phase"],
    perView((b) =>
      b.view().namespaces.map((ns) => listed(namespaceObject(ns), { "status.phase": "Active" })),
    ),
  ),
  core(
    "nodes",
    "Node",
    false,
    ["spec.unschedulable"],
    perView((b) => b.view().nodes.map((n) => listed(nodeObject(n), { "spec.unschedulable": "false" }))),
  ),
  core(
    "pods",
    "Pod",
    true,
    ["spec.nodeName", "status.phase", "spec.serviceAccountName", "spec.restartPolicy"],
    perView((b) => {
      const nodes = nodeMap(b);
      return b.view().services.flatMap((s) =>
        s.deployments.map((d) => {
          const pod = podObject(s, d, nodes.get(d.pod.node));
          return listed(pod, {
            "spec.nodeName": d.pod.node,
            "status.phase": String((pod.status as { phase: string }).phase),
            "spec.serviceAccountName": s.serviceAccount ?? "",
            "spec.restartPolicy": "Always",
          });
        }),
      );
    }),
  ),
  core("services", "Service", true, ["spec.type"], (b) => [
    listed(apiServiceObject(b.apiAddress()), { "spec.type": "ClusterIP" }),
    ...b
      .view()
      .services.filter(hasService)
      .map((s) => listed(serviceObject(s), { "spec.type": "NodePort" })),
  ]),
  core("endpoints", "Endpoints", true, [], (b) => {
    const nodes = nodeMap(b);
    return [
      listed(apiEndpointsObject(b.apiAddress())),
      ...b
        .view()
        .services.filter(hasService)
        .map((s) => listed(endpointsObject(s, nodes))),
    ];
  }),
  core("serviceaccounts", "ServiceAccount", true, [], (b) =>
    b.rbac?.list("serviceaccounts", undefined).map((o) => listed(o)),
  ),
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
    fields: ["metadata.name"],
    list: (b) => b.rbac?.list("clusterrolebindings", undefined).map((o) => listed(o)),
  },
  // Namespaced roles and bindings: none (a Grant is levee's); listed empty so that `kubectl delete
  // role,rolebinding --all` finds nothing to delete instead of failing.
  ...(["roles", "rolebindings"] as const).map(
    (resource): ResourceInfo => ({
      group: "rbac.authorization.k8s.io",
      version: "v1",
      resource,
      kind: resource === "roles" ? "Role" : "RoleBinding",
      namespaced: true,
      fields: META_FIELDS,
      list: () => [],
    }),
  ),
  // levee keeps its events in its own API (levee ctl events); the Kubernetes list is empty.
  core(
    "events",
    "Event",
    true,
    [
      "involvedObject.name",
      "involvedObject.namespace",
      "involvedObject.kind",
      "involvedObject.uid",
      "reason",
      "type",
    ],
    () => [],
  ),
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    kind: "Deployment",
    namespaced: true,
    fields: META_FIELDS,
    list: perView((b) =>
      b.view().services.flatMap((s) => s.deployments.map((d) => listed(deploymentObject(s, d)))),
    ),
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
    fields: ["metadata.name"],
    list: () => SEDNA_KINDS.map((k) => listed(crdObject(k))),
  },
  ...SEDNA_KINDS.map(
    (k): ResourceInfo => ({
      group: SEDNA_GROUP,
      version: "v1alpha1",
      resource: k.plural,
      kind: k.kind,
      namespaced: true,
      fields: META_FIELDS,
      list: (b) => b.sedna?.list(k.kind, undefined).map((o) => listed(o)),
    }),
  ),
  {
    group: "metrics.k8s.io",
    version: "v1beta1",
    resource: "pods",
    kind: "PodMetrics",
    namespaced: true,
    fields: META_FIELDS,
    list: (b) =>
      b.view().services.flatMap((s) =>
        s.deployments.flatMap((d) => {
          const m = podMetricsObject(s, d, (index) => b.workerUsage(s.service, d.pod.node, index));
          return m ? [listed(m as unknown as KubeObject)] : [];
        }),
      ),
  },
  {
    group: "metrics.k8s.io",
    version: "v1beta1",
    resource: "nodes",
    kind: "NodeMetrics",
    namespaced: false,
    fields: ["metadata.name"],
    list: (b) =>
      b.view().nodes.flatMap((n) => {
        const u = b.nodeUsage(n.name);
        return u ? [listed(nodeMetricsObject(n.name, nodeLabels(n), u) as unknown as KubeObject)] : [];
      }),
  },
];

export function resourceInfo(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}
