// The pods a Dayu object stands for, in the order its translation makes levee workers
// (src/manifest/dayu/translate-jmes.ts, translate-runtime.ts): every edgeWorker[i] pod (key
// `edge<i>`), then the cloudWorker pod (`cloud`) unless it is empty; a RuntimeService's one pod on
// its targetNode (`runtime`); within a pod, one worker per container, in order. So the i-th worker
// entry of the made Service is the i-th container here, and on a node the workers are numbered in
// this order. Pure; reads only the fields it needs from the spec as written.
import { isZero } from "../manifest/dayu/translate-jmes.ts";

export interface PodLayout {
  key: string;
  role: "edgeworker" | "cloudworker" | "runtimeworker";
  node: string;
  serviceAccount?: string;
  containers: { name: string; image: string }[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function podOf(key: string, role: PodLayout["role"], podSpec: unknown, node: string): PodLayout | undefined {
  if (!isObject(podSpec) || !Array.isArray(podSpec.containers)) return undefined;
  const containers = podSpec.containers
    .filter(isObject)
    .map((c) => ({ name: str(c.name), image: str(c.image) }));
  const account = str(podSpec.serviceAccountName) || str(podSpec.serviceAccount);
  const layout: PodLayout = { key, role, node, containers };
  if (account && podSpec.automountServiceAccountToken !== false) layout.serviceAccount = account;
  return layout;
}

export function dayuPodLayout(kind: string, spec: unknown): PodLayout[] {
  if (!isObject(spec)) return [];
  const out: PodLayout[] = [];
  const add = (pod: PodLayout | undefined) => {
    if (pod && pod.node !== "") out.push(pod);
  };
  if (kind === "RuntimeService") {
    const template = isObject(spec.podTemplate) ? spec.podTemplate : {};
    add(podOf("runtime", "runtimeworker", template.spec, str(spec.targetNode)));
    return out;
  }
  const edges = Array.isArray(spec.edgeWorker) ? spec.edgeWorker : [];
  edges.forEach((worker, i) => {
    const podSpec = isObject(worker) && isObject(worker.template) ? worker.template.spec : undefined;
    add(podOf(`edge${i}`, "edgeworker", podSpec, isObject(podSpec) ? str(podSpec.nodeName) : ""));
  });
  const cloud = spec.cloudWorker;
  if (
    cloud !== undefined &&
    cloud !== null &&
    !isZero(cloud) &&
    isObject(cloud) &&
    isObject(cloud.template)
  ) {
    const podSpec = cloud.template.spec;
    add(podOf("cloud", "cloudworker", podSpec, isObject(podSpec) ? str(podSpec.nodeName) : ""));
  }
  return out;
}
