// The cluster as the Kubernetes API facade shows it: namespaces, nodes, and for every Dayu object
// the Deployments and Pods dayu-sedna would have made (one pod per sedna pod, one container per
// levee worker) with the status their nodes reported. The cloud derives it from its store; every
// node gets it with the mesh catalog (when some worker uses the API) and answers reads from it
// while the cloud is away. Names are computed once, on the cloud (names.ts), so every node shows
// the same. A plain, bounded JSON document: KUBE_VIEW_VERSION changes when its meaning does.
import { z } from "zod";

export const KUBE_VIEW_VERSION = 1;

const text = (max: number) => z.string().max(max);
const name = text(253);
const time = text(40);
const labels = z.record(text(317), text(63));

export const kubeContainerSchema = z.object({
  /** The container's name in the pod (the Dayu container name). */
  name,
  image: text(1024),
  /** The levee worker: its index on the pod's node. */
  index: z.int().min(0),
  /** levee's worker phase: pending, fetching, starting, running, ready, backoff, stopped, failed. */
  phase: text(32),
  ready: z.boolean(),
  restarts: z.int().min(0),
  message: text(4096),
  since: time.nullable(),
  exitCode: z.int().nullable(),
  signal: text(32).nullable(),
});

export const kubePodSchema = z.object({
  name,
  node: name,
  containers: z.array(kubeContainerSchema).max(64),
});

export const kubeDeploymentSchema = z.object({
  name,
  /** dayu-sedna's worker type: edgeworker or cloudworker (runtimeworker for a RuntimeService). */
  role: z.enum(["edgeworker", "cloudworker", "runtimeworker"]),
  /** The pod template hash (the part of the pod name after the deployment's). */
  templateHash: text(16),
  pod: kubePodSchema,
});

export const kubeServiceSchema = z.object({
  kind: z.enum(["JointMultiEdgeService", "RuntimeService"]),
  namespace: name,
  /** The Dayu object's name. */
  name,
  uid: text(64),
  generation: z.int().min(0),
  created: time,
  /** The levee Service made from it (its key). */
  service: name,
  /** serviceConfig: where the port is served, the port the workers listen on, the mesh port. */
  pos: z.enum(["cloud", "edge", "both"]).optional(),
  port: z.int().min(1).max(65535).optional(),
  nodePort: z.int().min(1).max(65535).optional(),
  serviceAccount: name.optional(),
  deployments: z.array(kubeDeploymentSchema).max(1000),
});

export const kubeNodeSchema = z.object({
  name,
  uid: text(64),
  role: z.enum(["cloud", "edge"]),
  addresses: z.array(text(253)).max(64),
  labels,
  phase: z.enum(["Ready", "Disconnected", "Lost"]),
  created: time,
  lastSeen: time.nullable(),
  version: text(64),
  arch: text(32),
  cpus: z.int().min(0).optional(),
  memoryBytes: z.int().min(0).optional(),
});

export const kubeViewSchema = z.object({
  v: z.literal(KUBE_VIEW_VERSION),
  namespaces: z.array(z.object({ name, uid: text(64), created: time })).max(10_000),
  nodes: z.array(kubeNodeSchema).max(100_000),
  services: z.array(kubeServiceSchema).max(10_000),
});

export type KubeView = z.output<typeof kubeViewSchema>;
export type KubeNode = z.output<typeof kubeNodeSchema>;
export type KubeService = z.output<typeof kubeServiceSchema>;
export type KubeDeployment = z.output<typeof kubeDeploymentSchema>;
export type KubePod = z.output<typeof kubePodSchema>;
export type KubeContainer = z.output<typeof kubeContainerSchema>;
