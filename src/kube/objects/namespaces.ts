// v1 Namespace objects. Pure.
import type { KubeView } from "../view.ts";
import { kubeTime, withContentVersion } from "./meta.ts";

export function namespaceObject(ns: KubeView["namespaces"][number]) {
  return withContentVersion({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: ns.name,
      uid: ns.uid,
      creationTimestamp: kubeTime(ns.created) ?? "",
      labels: { "kubernetes.io/metadata.name": ns.name },
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  });
}
