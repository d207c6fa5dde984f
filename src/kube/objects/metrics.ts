// metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics from the CPU and memory the agents measured
// (src/node/usage/): CPU in nanocores ("12345678n"), memory in KiB ("53248Ki"), the formats
// metrics-server answers with and Dayu's code parses. Pure.
import type { KubeDeployment, KubeService } from "../view.ts";
import { kubeTime } from "./meta.ts";
import { podLabels } from "./pods.ts";

export interface Usage {
  cpuNanocores: number;
  memoryBytes: number;
  windowSeconds: number;
  sampledAt: string;
}

export function usageOf(u: Usage): { cpu: string; memory: string } {
  return {
    cpu: `${Math.max(0, Math.round(u.cpuNanocores))}n`,
    memory: `${Math.max(0, Math.floor(u.memoryBytes / 1024))}Ki`,
  };
}

const window = (u: Usage) => `${Math.max(1, Math.round(u.windowSeconds))}s`;

/** A pod's metrics, or undefined when no container of it has been measured yet. */
export function podMetricsObject(
  service: KubeService,
  deployment: KubeDeployment,
  usageOfWorker: (index: number) => Usage | undefined,
) {
  const measured = deployment.pod.containers.map((c) => ({ c, u: usageOfWorker(c.index) }));
  const first = measured.find((m) => m.u)?.u;
  if (!first) return undefined;
  return {
    kind: "PodMetrics",
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: {
      name: deployment.pod.name,
      namespace: service.namespace,
      creationTimestamp: kubeTime(new Date().toISOString()),
      labels: podLabels(service, deployment),
    },
    timestamp: kubeTime(first.sampledAt),
    window: window(first),
    containers: measured.flatMap(({ c, u }) => (u ? [{ name: c.name, usage: usageOf(u) }] : [])),
  };
}

export function nodeMetricsObject(node: string, labels: Record<string, string>, u: Usage) {
  return {
    kind: "NodeMetrics",
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: { name: node, creationTimestamp: kubeTime(new Date().toISOString()), labels },
    timestamp: kubeTime(u.sampledAt),
    window: window(u),
    usage: usageOf(u),
  };
}
