// v1 Service and Endpoints objects. For every Dayu object with a serviceConfig, the NodePort
// Service dayu-sedna creates: `<cr>-<pos>`, port = targetPort = serviceConfig.port, nodePort = the
// levee mesh port (what every node listens on), selecting `jointmultiedge.sedna.io/name`; its
// Endpoints list the nodes of its ready pods. And `default/kubernetes`: this API, at the address
// the caller should use (Dayu reads it to point its components at the API). Pure.
import {
  SEDNA_NAME_LABEL,
  SEDNA_UID_LABEL,
  SEDNA_WORKER_TYPE_LABEL,
  serviceName,
  stableUid,
} from "../names.ts";
import type { KubeNode, KubeService } from "../view.ts";
import { kubeTime, withContentVersion } from "./meta.ts";
import { nodeIp } from "./nodes.ts";

export interface ApiAddress {
  host: string;
  port: number;
  /** When the API started (the kubernetes Service's creationTimestamp). */
  since: string;
}

export function hasService(service: KubeService): boolean {
  return service.pos !== undefined && service.port !== undefined;
}

export function serviceObject(service: KubeService) {
  const pos = service.pos ?? "both";
  const name = serviceName(service.name, pos);
  return withContentVersion({
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: service.namespace,
      uid: stableUid("service", service.uid, name),
      creationTimestamp: kubeTime(service.created) ?? "",
      labels: {
        [SEDNA_NAME_LABEL]: service.name,
        [SEDNA_UID_LABEL]: service.uid,
        [SEDNA_WORKER_TYPE_LABEL]: pos,
        "service.kubernetes.io/service-proxy-name": "",
      },
      ownerReferences: [
        {
          apiVersion: "sedna.io/v1alpha1",
          kind: "JointMultiEdge",
          name: service.name,
          uid: service.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      type: "NodePort",
      externalTrafficPolicy: "Cluster",
      selector: { [SEDNA_NAME_LABEL]: service.name },
      ports: [
        {
          name: "tcp-0",
          protocol: "TCP",
          port: service.port,
          targetPort: service.port,
          ...(service.nodePort !== undefined ? { nodePort: service.nodePort } : {}),
        },
      ],
    },
    status: { loadBalancer: {} },
  });
}

export function endpointsObject(service: KubeService, nodes: ReadonlyMap<string, KubeNode>) {
  const pos = service.pos ?? "both";
  const name = serviceName(service.name, pos);
  const ready: { ip: string; nodeName: string; targetRef: Record<string, string> }[] = [];
  const notReady: typeof ready = [];
  for (const d of service.deployments) {
    const ip = nodeIp(nodes.get(d.pod.node));
    if (!ip) continue;
    const serves = pos === "both" || (pos === "edge") === (d.role !== "cloudworker");
    if (!serves) continue;
    const entry = {
      ip,
      nodeName: d.pod.node,
      targetRef: { kind: "Pod", namespace: service.namespace, name: d.pod.name },
    };
    (d.pod.containers.every((c) => c.ready) ? ready : notReady).push(entry);
  }
  const subsets =
    ready.length + notReady.length === 0
      ? []
      : [
          {
            ...(ready.length > 0 ? { addresses: ready } : {}),
            ...(notReady.length > 0 ? { notReadyAddresses: notReady } : {}),
            ports: [{ name: "tcp-0", port: service.port, protocol: "TCP" }],
          },
        ];
  return withContentVersion({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name,
      namespace: service.namespace,
      uid: stableUid("endpoints", service.uid, name),
      creationTimestamp: kubeTime(service.created) ?? "",
      labels: { [SEDNA_NAME_LABEL]: service.name },
    },
    subsets,
  });
}

/** `default/kubernetes`: the Service of this API. */
export function apiServiceObject(api: ApiAddress) {
  return withContentVersion({
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      uid: stableUid("service", "kubernetes"),
      creationTimestamp: kubeTime(api.since) ?? "",
      labels: { component: "apiserver", provider: "levee" },
    },
    spec: {
      type: "ClusterIP",
      ports: [{ name: "https", protocol: "TCP", port: api.port, targetPort: api.port }],
    },
    status: { loadBalancer: {} },
  });
}

export function apiEndpointsObject(api: ApiAddress) {
  return withContentVersion({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: "kubernetes",
      namespace: "default",
      uid: stableUid("endpoints", "kubernetes"),
      creationTimestamp: kubeTime(api.since) ?? "",
    },
    subsets: [{ addresses: [{ ip: api.host }], ports: [{ name: "https", port: api.port, protocol: "TCP" }] }],
  });
}
