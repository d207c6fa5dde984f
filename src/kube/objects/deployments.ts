// apps/v1 Deployment objects: one per worker pod of a Dayu object (replicas 1), as dayu-sedna
// creates them: selector and pod labels `kubernetes.io/hostname` and `jointmultiedge.sedna.io/name`,
// no owner. Pure.
import { HOSTNAME_LABEL, SEDNA_NAME_LABEL, stableUid } from "../names.ts";
import type { KubeDeployment, KubeService } from "../view.ts";
import { kubeTime, withContentVersion } from "./meta.ts";

export function deploymentObject(service: KubeService, deployment: KubeDeployment) {
  const { pod } = deployment;
  const ready = pod.containers.length > 0 && pod.containers.every((c) => c.ready) ? 1 : 0;
  const selector = { [HOSTNAME_LABEL]: pod.node, [SEDNA_NAME_LABEL]: service.name };
  return withContentVersion({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: deployment.name,
      namespace: service.namespace,
      uid: stableUid("deployment", service.uid, deployment.name),
      generation: service.generation,
      creationTimestamp: kubeTime(service.created) ?? "",
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: selector },
        spec: {
          nodeName: pod.node,
          ...(service.serviceAccount ? { serviceAccountName: service.serviceAccount } : {}),
          containers: pod.containers.map((c) => ({ name: c.name, image: c.image })),
        },
      },
    },
    status: {
      observedGeneration: service.generation,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(ready ? {} : { unavailableReplicas: 1 }),
    },
  });
}
