// The discovery documents clients read before anything else (kubectl, client-go, the Python
// client's dynamic parts): /version, /api (core versions), /api/v1 and /apis/<group>/<version>
// (the resources served, their verbs and short names), /apis (the groups). Only what the facade
// serves is listed, so a client finds out at once what it cannot do. Pure, constant.
import { SEDNA_GROUP, SEDNA_KINDS, SEDNA_VERSION } from "./objects/crds.ts";

interface Resource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
}

const READ = ["get", "list", "watch"];

export const GROUP_RESOURCES: Readonly<Record<string, readonly Resource[]>> = {
  v1: [
    {
      name: "namespaces",
      singularName: "namespace",
      namespaced: false,
      kind: "Namespace",
      verbs: ["create", "delete", ...READ],
      shortNames: ["ns"],
    },
    { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: READ, shortNames: ["no"] },
    {
      name: "pods",
      singularName: "pod",
      namespaced: true,
      kind: "Pod",
      verbs: ["delete", ...READ],
      shortNames: ["po"],
    },
    {
      name: "services",
      singularName: "service",
      namespaced: true,
      kind: "Service",
      verbs: ["delete", ...READ],
      shortNames: ["svc"],
    },
    {
      name: "endpoints",
      singularName: "endpoints",
      namespaced: true,
      kind: "Endpoints",
      verbs: READ,
      shortNames: ["ep"],
    },
    {
      name: "events",
      singularName: "event",
      namespaced: true,
      kind: "Event",
      verbs: READ,
      shortNames: ["ev"],
    },
    {
      name: "serviceaccounts",
      singularName: "serviceaccount",
      namespaced: true,
      kind: "ServiceAccount",
      verbs: ["create", "delete", "patch", ...READ],
      shortNames: ["sa"],
    },
  ],
  "rbac.authorization.k8s.io/v1": [
    {
      name: "clusterrolebindings",
      singularName: "clusterrolebinding",
      namespaced: false,
      kind: "ClusterRoleBinding",
      verbs: ["create", "delete", "patch", ...READ],
    },
    { name: "roles", singularName: "role", namespaced: true, kind: "Role", verbs: ["delete", ...READ] },
    {
      name: "rolebindings",
      singularName: "rolebinding",
      namespaced: true,
      kind: "RoleBinding",
      verbs: ["delete", ...READ],
    },
  ],
  "apps/v1": [
    {
      name: "deployments",
      singularName: "deployment",
      namespaced: true,
      kind: "Deployment",
      verbs: ["delete", ...READ],
      shortNames: ["deploy"],
    },
  ],
  "apiextensions.k8s.io/v1": [
    {
      name: "customresourcedefinitions",
      singularName: "customresourcedefinition",
      namespaced: false,
      kind: "CustomResourceDefinition",
      verbs: READ,
      shortNames: ["crd", "crds"],
    },
  ],
  [`${SEDNA_GROUP}/${SEDNA_VERSION}`]: SEDNA_KINDS.map((k) => ({
    name: k.plural,
    singularName: k.singular,
    namespaced: true,
    kind: k.kind,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    shortNames: k.shortNames,
  })),
  "metrics.k8s.io/v1beta1": [
    { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] },
    { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] },
  ],
};

/** The Kubernetes version levee's facade speaks (the API conventions of this release). */
export const KUBE_VERSION = { major: "1", minor: "28", gitVersion: "v1.28.0-levee" };

export function versionDocument(leveeVersion: string) {
  return {
    ...KUBE_VERSION,
    gitVersion: `${KUBE_VERSION.gitVersion}.${leveeVersion}`,
    gitCommit: "",
    gitTreeState: "clean",
    buildDate: "",
    goVersion: "",
    compiler: "levee",
    platform: `linux/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

export function coreVersions() {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
}

export function resourceList(groupVersion: string) {
  const resources = GROUP_RESOURCES[groupVersion];
  if (!resources) return undefined;
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources };
}

export function groupList() {
  const groups = Object.keys(GROUP_RESOURCES)
    .filter((gv) => gv.includes("/"))
    .map((gv) => {
      const [name, version] = gv.split("/") as [string, string];
      const v = { groupVersion: gv, version };
      return { name, versions: [v], preferredVersion: v };
    });
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function groupDocument(group: string) {
  return groupList().groups.find((g) => g.name === group);
}

/**
 * The OpenAPI v2 document kubectl downloads before `apply` (it validates client-side with it when
 * the server does not say it validates itself): an empty one, in the protobuf form kubectl asks
 * for (gnostic's openapi_v2.Document: swagger "2.0", info {title, version}, no paths). With no
 * schema for a kind kubectl sends the object as it is and the server checks it. Hand-encoded: six
 * fields, where a protobuf library would be a dependency for one constant.
 */
export function openApiV2Protobuf(): Uint8Array {
  const field = (tag: number, bytes: Uint8Array) => Uint8Array.of(tag, bytes.length, ...bytes);
  const text = (s: string) => new TextEncoder().encode(s);
  const info = Uint8Array.of(...field(0x0a, text("levee")), ...field(0x12, text("v1")));
  return Uint8Array.of(...field(0x0a, text("2.0")), ...field(0x12, info), ...field(0x42, new Uint8Array()));
}

export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
