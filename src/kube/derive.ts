// The Kubernetes view derived from levee's state (pure): what the cloud computes from its store and
// ships to the nodes (view.ts). Every Dayu object becomes its pods (dayu-pods.ts), named as
// dayu-sedna names them (names.ts), each container carrying the status of the levee worker it is.
import type { PodLayout } from "./dayu-pods.ts";
import { dayuPodLayout } from "./dayu-pods.ts";
import { deploymentName, podName, templateHash } from "./names.ts";
import type { KubeContainer, KubeDeployment, KubeNode, KubeService, KubeView } from "./view.ts";
import { KUBE_VIEW_VERSION } from "./view.ts";

export interface DayuObjectInput {
  kind: "JointMultiEdgeService" | "RuntimeService";
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  created: string;
  /** The object's spec as written. */
  spec: unknown;
  /** The key of the levee Service made from it; its mesh port. */
  service: string;
  nodePort?: number;
}

export interface WorkerStatusInput {
  service: string;
  node: string;
  index: number;
  phase: string;
  ready: boolean;
  restarts: number;
  message: string;
  since: string | null;
  exitCode: number | null;
  signal: string | null;
}

export interface ViewInput {
  namespaces: { name: string; uid: string; created: string }[];
  nodes: KubeNode[];
  dayu: DayuObjectInput[];
  /** Every planned worker with its last reported status (the cloud's workers view). */
  workers: WorkerStatusInput[];
}

export function deriveKubeView(input: ViewInput): KubeView {
  const statuses = new Map<string, WorkerStatusInput>();
  for (const w of input.workers) statuses.set(`${w.service}\u0000${w.node}\u0000${w.index}`, w);
  const services = input.dayu
    .map((object) => serviceOf(object, statuses))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return {
    v: KUBE_VIEW_VERSION,
    namespaces: [...input.namespaces].sort((a, b) => a.name.localeCompare(b.name)),
    nodes: [...input.nodes].sort((a, b) => a.name.localeCompare(b.name)),
    services,
  };
}

function serviceOf(object: DayuObjectInput, statuses: ReadonlyMap<string, WorkerStatusInput>): KubeService {
  const layout = dayuPodLayout(object.kind, object.spec);
  // Workers are numbered per node in layout order (one worker per container).
  const nextIndex = new Map<string, number>();
  const deployments: KubeDeployment[] = layout.map((pod) => {
    const containers = pod.containers.map((c): KubeContainer => {
      const index = nextIndex.get(pod.node) ?? 0;
      nextIndex.set(pod.node, index + 1);
      const status = statuses.get(`${object.service}\u0000${pod.node}\u0000${index}`);
      return {
        name: c.name,
        image: c.image,
        index,
        phase: status?.phase ?? "pending",
        ready: status?.ready ?? false,
        restarts: status?.restarts ?? 0,
        message: status?.message ?? `no status from node ${pod.node} yet`,
        since: status?.since ?? null,
        exitCode: status?.exitCode ?? null,
        signal: status?.signal ?? null,
      };
    });
    return deploymentOf(object, pod, containers);
  });
  const config = serviceConfig(object);
  const account = layout.find((p) => p.serviceAccount)?.serviceAccount;
  return {
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    uid: object.uid,
    generation: object.generation,
    created: object.created,
    service: object.service,
    ...config,
    ...(object.nodePort !== undefined && config.pos !== undefined ? { nodePort: object.nodePort } : {}),
    ...(account ? { serviceAccount: account } : {}),
    deployments,
  };
}

function deploymentOf(object: DayuObjectInput, pod: PodLayout, containers: KubeContainer[]): KubeDeployment {
  const name = deploymentName(object.name, pod.role, object.uid, pod.key);
  const hash = templateHash(name, object.generation);
  return {
    name,
    role: pod.role,
    templateHash: hash,
    pod: { name: podName(name, hash), node: pod.node, containers },
  };
}

/** serviceConfig's pos and port (a JointMultiEdgeService); a RuntimeService's endpoint port. */
function serviceConfig(object: DayuObjectInput): { pos?: "cloud" | "edge" | "both"; port?: number } {
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  if (object.kind === "RuntimeService") {
    const port = (spec.endpoint as { port?: unknown } | undefined)?.port;
    return typeof port === "number" ? { pos: "edge", port } : {};
  }
  const config = spec.serviceConfig as { pos?: unknown; port?: unknown } | undefined;
  if (!config || typeof config.port !== "number" || config.port === 0) return {};
  const pos = config.pos === "cloud" || config.pos === "edge" ? config.pos : "both";
  return { pos, port: config.port };
}
