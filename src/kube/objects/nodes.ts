// v1 Node objects: addresses (InternalIP, Hostname), capacity from what the agent measured, the
// Ready condition from the node's phase, and the labels Dayu reads for roles
// (`node-role.kubernetes.io/edge` on edges, `.../master` and `.../control-plane` on the cloud),
// next to the node's own labels. Pure.
import { isIP } from "node:net";
import type { KubeNode } from "../view.ts";
import { kubeTime, withContentVersion } from "./meta.ts";

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm" };

export function nodeLabels(node: KubeNode): Record<string, string> {
  const roles: Record<string, string> =
    node.role === "cloud"
      ? { "node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": "" }
      : { "node-role.kubernetes.io/edge": "", "node-role.kubernetes.io/agent": "" };
  return {
    ...node.labels,
    "kubernetes.io/hostname": node.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": ARCH[node.arch] ?? node.arch,
    ...roles,
  };
}

/** The address a node is reached at (its first IP), as pods on it report hostIP. */
export function nodeIp(node: KubeNode | undefined): string | undefined {
  return node?.addresses.find((a) => isIP(a) !== 0) ?? node?.addresses[0];
}

export function nodeObject(node: KubeNode) {
  const capacity: Record<string, string> = { pods: "110" };
  if (node.cpus !== undefined) capacity.cpu = String(node.cpus);
  if (node.memoryBytes !== undefined) capacity.memory = `${Math.floor(node.memoryBytes / 1024)}Ki`;
  const seen = kubeTime(node.lastSeen) ?? kubeTime(node.created) ?? "";
  const ready = node.phase === "Ready" ? "True" : "Unknown";
  return withContentVersion({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.name,
      uid: node.uid,
      creationTimestamp: kubeTime(node.created) ?? "",
      labels: nodeLabels(node),
    },
    spec: {},
    status: {
      addresses: [
        ...node.addresses.filter((a) => isIP(a) !== 0).map((address) => ({ type: "InternalIP", address })),
        { type: "Hostname", address: node.name },
      ],
      capacity,
      allocatable: capacity,
      conditions: [
        {
          type: "Ready",
          status: ready,
          reason: node.phase === "Ready" ? "LeveeAgentReady" : `LeveeAgent${node.phase}`,
          message:
            node.phase === "Ready"
              ? "the levee agent is connected"
              : `the levee agent is ${node.phase.toLowerCase()} (last seen ${node.lastSeen ?? "never"})`,
          lastHeartbeatTime: seen,
          lastTransitionTime: seen,
        },
      ],
      nodeInfo: {
        architecture: ARCH[node.arch] ?? node.arch,
        bootID: "",
        containerRuntimeVersion: "levee",
        kernelVersion: "",
        kubeProxyVersion: "",
        kubeletVersion: `levee-${node.version}`,
        machineID: "",
        operatingSystem: "linux",
        osImage: "",
        systemUUID: node.uid,
      },
    },
  });
}
