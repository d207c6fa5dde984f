// The Sedna objects (JointMultiEdgeService, RuntimeService) as the Kubernetes API serves them: the
// object as it was applied (spec, labels, annotations) with levee's metadata (uid, generation,
// resourceVersion: a PUT of it is checked against the store) and a status from its pods in the
// view: active pods, and a Running, Pending or Failed condition as dayu-sedna's controller keeps.
import type { KubeObject } from "../../kube/objects/meta.ts";
import { kubeTime } from "../../kube/objects/meta.ts";
import { podPhase } from "../../kube/objects/pods.ts";
import type { KubeService } from "../../kube/view.ts";
import { SEDNA_API_VERSION } from "../../manifest/dayu/sedna-schema.ts";
import { savedDayu } from "../dayu/views.ts";
import type { StoredObject } from "../resource-store.ts";

export function sednaObject(stored: StoredObject, view: KubeService | undefined): KubeObject {
  const saved = savedDayu(stored);
  const { name, uid, generation, resourceVersion, labels, creationTimestamp } = stored.metadata;
  const created = kubeTime(creationTimestamp) ?? "";
  const phases = (view?.deployments ?? []).map((d) => podPhase(d.pod.containers));
  const active = phases.filter((p) => p === "Running").length;
  const failed = phases.filter((p) => p === "Failed").length;
  const condition =
    failed > 0 ? "Failed" : phases.length > 0 && active === phases.length ? "Running" : "Pending";
  return {
    apiVersion: SEDNA_API_VERSION,
    kind: stored.kind,
    metadata: {
      name,
      namespace: saved.namespace ?? "default",
      uid,
      generation,
      resourceVersion,
      creationTimestamp: created,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(saved.annotations && Object.keys(saved.annotations).length > 0
        ? { annotations: saved.annotations }
        : {}),
    },
    spec: saved.spec ?? {},
    status: {
      active,
      failed,
      startTime: created,
      conditions: [
        {
          type: condition,
          status: "True",
          lastHeartbeatTime: kubeTime(stored.metadata.updatedTimestamp) ?? created,
          lastTransitionTime: kubeTime(stored.metadata.updatedTimestamp) ?? created,
          reason:
            condition === "Running" ? "AllPodsRunning" : condition === "Failed" ? "PodFailed" : "PodsPending",
          message: `${active}/${phases.length} pods running`,
        },
      ],
    },
  };
}
