// v1 Pod objects: one per worker pod of a Dayu object, named and labelled as dayu-sedna's
// Deployments make them, one container status per levee worker. levee's worker phases map to
// what kubelet would report (host networking: podIP is the node's address):
//   pending, fetching, starting   Pending   waiting ContainerCreating
//   running                       Running   running, not ready (health check not passed yet)
//   ready                         Running   running, ready
//   backoff                       Running   waiting CrashLoopBackOff (the restart is scheduled)
//   stopped                       Succeeded terminated Completed
//   failed                        Failed    terminated Error (exit code)
// A pod is Running while any container runs, Failed when one failed and none runs. Pure.
import { HOSTNAME_LABEL, SEDNA_NAME_LABEL, stableUid, TEMPLATE_HASH_LABEL } from "../names.ts";
import type { KubeContainer, KubeDeployment, KubeNode, KubeService } from "../view.ts";
import { kubeTime, withContentVersion } from "./meta.ts";
import { nodeIp } from "./nodes.ts";

export function podLabels(service: KubeService, deployment: KubeDeployment): Record<string, string> {
  return {
    [HOSTNAME_LABEL]: deployment.pod.node,
    [SEDNA_NAME_LABEL]: service.name,
    [TEMPLATE_HASH_LABEL]: deployment.templateHash,
  };
}

function containerState(c: KubeContainer, created: string) {
  const since = kubeTime(c.since) ?? created;
  switch (c.phase) {
    case "running":
    case "ready":
      return { running: { startedAt: since } };
    case "backoff":
      return { waiting: { reason: "CrashLoopBackOff", message: c.message } };
    case "stopped":
      return { terminated: { exitCode: c.exitCode ?? 0, reason: "Completed", finishedAt: since } };
    case "failed":
      return {
        terminated: {
          exitCode: c.exitCode ?? 1,
          reason: "Error",
          message: c.message,
          ...(c.signal ? { signal: signalNumber(c.signal) } : {}),
          finishedAt: since,
        },
      };
    default:
      return { waiting: { reason: "ContainerCreating", message: c.message } };
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
const signalNumber = (name: string) => SIGNALS[name] ?? 0;

export function podPhase(containers: readonly KubeContainer[]): string {
  const phases = containers.map((c) => c.phase);
  if (phases.some((p) => p === "running" || p === "ready" || p === "backoff")) return "Running";
  if (phases.length > 0 && phases.some((p) => p === "failed")) return "Failed";
  if (phases.length > 0 && phases.every((p) => p === "stopped")) return "Succeeded";
  return "Pending";
}

export function podObject(service: KubeService, deployment: KubeDeployment, node: KubeNode | undefined) {
  const { pod } = deployment;
  const created = kubeTime(service.created) ?? "";
  const ip = nodeIp(node);
  const ready = pod.containers.length > 0 && pod.containers.every((c) => c.ready);
  const replicaSet = `${deployment.name}-${deployment.templateHash}`;
  return withContentVersion({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.name,
      namespace: service.namespace,
      uid: stableUid("pod", service.uid, pod.name),
      creationTimestamp: created,
      labels: podLabels(service, deployment),
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: replicaSet,
          uid: stableUid("replicaset", service.uid, replicaSet),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      nodeName: pod.node,
      hostNetwork: true,
      restartPolicy: "Always",
      ...(service.serviceAccount ? { serviceAccountName: service.serviceAccount } : {}),
      containers: pod.containers.map((c) => ({ name: c.name, image: c.image })),
    },
    status: {
      phase: podPhase(pod.containers),
      conditions: [
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: created },
        { type: "PodScheduled", status: "True", lastTransitionTime: created },
      ],
      ...(ip ? { hostIP: ip, podIP: ip, podIPs: [{ ip }] } : {}),
      startTime: created,
      containerStatuses: pod.containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: "",
        containerID: `levee://${service.service}/${pod.node}/${c.index}`,
        ready: c.ready,
        started: c.phase === "running" || c.phase === "ready",
        restartCount: c.restarts,
        state: containerState(c, created),
      })),
    },
  });
}
