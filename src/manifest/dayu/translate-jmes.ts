// A JointMultiEdgeService → one native Service of the same name (dayu-sedna
// controllers/jointmultiedge/jointmultiedgeservice.go is what it replaces):
//   - one worker per container of each edgeWorker[] pod and of the cloudWorker pod, pinned by
//     template.spec.nodeName;
//   - Sedna's env on top of the container's: NAMESPACE (metadata.namespace), LOG_LEVEL
//     (logLevel.level), DATA_PATH_PREFIX=/home/data, VOLUME_NUM/VOLUME_<i>; NODE_NAME and SERVICE_NAME
//     are set by the agent (same values); LC_SERVER on edge workers is the local agent's URL
//     (template agentUrlEnv);
//   - serviceConfig → the service's node-targeted mesh port (nodePort, else a port allocated from
//     30000-32767 and kept), served by the workers at `pos` (cloud, edge or both). Those workers get
//     `port: auto` and their port variable (GUNICORN_PORT) follows it, so that the controller and the
//     processor of one node do not both bind 9000 on the host network.

import type { RawService, RawTemplate } from "./native.ts";
import { podWorkers } from "./pod.ts";
import { DATA_PATH_PREFIX, sednaMounts } from "./sedna-mounts.ts";
import type { JmesResource, SednaWorker, ServiceConfig } from "./sedna-schema.ts";
import {
  assembleService,
  beginTranslation,
  checkNodeName,
  fieldRefs,
  meshEntry,
  type TranslateContext,
} from "./translate-context.ts";
import type { Path, Report } from "./warnings.ts";

type Role = "edge" | "cloud";
type Pos = "cloud" | "edge" | "both";

interface Pod {
  role: Role;
  worker: SednaWorker;
  path: Path;
  key: string;
}

export function translateJmes(
  object: JmesResource,
  ctx: TranslateContext,
  report: Report,
): RawService | undefined {
  const options = beginTranslation(object, ["edgeWorker", "cloudWorker", "serviceConfig"], report);
  const { spec, metadata } = object;
  const name = metadata.name;

  const pods: Pod[] = (spec.edgeWorker ?? []).map((worker, i) => ({
    role: "edge",
    worker,
    path: ["spec", "edgeWorker", i],
    key: `edge${i}`,
  }));
  if (spec.cloudWorker && !isZero(spec.cloudWorker))
    pods.push({ role: "cloud", worker: spec.cloudWorker, path: ["spec", "cloudWorker"], key: "cloud" });
  if (pods.length === 0) {
    report.issue(["spec"], "nothing to run: set edgeWorker (a list) or cloudWorker");
    return undefined;
  }

  const service = serviceConfig(spec.serviceConfig ?? undefined, report);
  const workers: { node: string; template: RawTemplate }[] = [];
  for (const pod of pods) {
    const { worker, path } = pod;
    report.unknownFields(worker, ["template", "logLevel", "file", "mounts"], path, {
      hardExampleMining: "joint inference only; not used by a JointMultiEdgeService; ignored",
    });
    if (!worker.template) {
      report.issue([...path, "template"], "required: the pod template of this worker");
      continue;
    }
    const templatePath = [...path, "template"];
    report.unknownFields(worker.template, ["metadata", "spec"], templatePath);
    if (worker.template.metadata && Object.keys(worker.template.metadata).length > 0)
      report.warn([...templatePath, "metadata"], "pod labels and annotations: levee has no pods; ignored");
    const podPath = [...templatePath, "spec"];
    const node = checkNodeName(worker.template.spec.nodeName ?? undefined, [...podPath, "nodeName"], report);
    if (worker.logLevel) report.unknownFields(worker.logLevel, ["level"], [...path, "logLevel"]);
    const mounts = sednaMounts(
      worker,
      path,
      { service: name, pod: pod.key, configExists: ctx.configExists },
      report,
    );
    const level = worker.logLevel?.level;
    const injectedEnv: Record<string, string> = {
      NAMESPACE: metadata.namespace,
      ...(level ? { LOG_LEVEL: level } : {}),
      DATA_PATH_PREFIX,
      ...mounts.env,
    };
    const serves = service !== undefined && (service.pos === "both" || service.pos === pod.role);
    const templates = podWorkers({
      pod: worker.template.spec,
      path: podPath,
      scope: { service: name, pod: pod.key, configExists: ctx.configExists },
      planned: mounts.planned,
      injectedEnv,
      agentUrlEnv: pod.role === "edge" ? ["LC_SERVER"] : [],
      serving: serves ? service?.port : undefined,
      portEnv: options.portEnv,
      ctx: { rules: ctx.rules, report, fieldRefs: fieldRefs(node, metadata.namespace) },
    });
    if (node !== undefined) for (const template of templates) workers.push({ node, template });
  }
  checkFixedPorts(workers, report);
  if (report.issues.length > 0) return undefined;

  let mesh: RawService["spec"]["mesh"];
  if (service) {
    if (!workers.some((w) => w.template.port !== undefined))
      report.warn(["spec", "serviceConfig", "pos"], `no worker at pos ${service.pos} serves the port`);
    mesh = meshEntry(
      ctx.meshPort(name, service.nodePort),
      options,
      service.pos === "cloud" ? "cloud" : "none",
    );
  }
  return assembleService(name, metadata.labels, workers, mesh);
}

function serviceConfig(
  config: ServiceConfig | undefined,
  report: Report,
): { pos: Pos; port: number; nodePort: number | undefined } | undefined {
  // All zero (or absent): Sedna creates no service.
  if (!config || isZero(config)) return undefined;
  const path = ["spec", "serviceConfig"];
  report.unknownFields(config, ["port", "targetPort", "nodePort", "pos"], path);
  let pos: Pos = "both";
  if (config.pos === "cloud" || config.pos === "edge" || config.pos === "both") pos = config.pos;
  else if (config.pos === undefined || config.pos === null || config.pos === "")
    report.warn([...path, "pos"], 'not set: taken as "both" (the cloud and the edge workers serve the port)');
  else {
    report.issue([...path, "pos"], `expected "cloud", "edge" or "both", got ${JSON.stringify(config.pos)}`);
    return undefined;
  }
  if (!config.port) {
    report.issue([...path, "port"], "required: the port the workers listen on");
    return undefined;
  }
  if (config.targetPort && config.targetPort !== config.port)
    report.warn(
      [...path, "targetPort"],
      `Sedna sends traffic to port ${config.port} (it ignores targetPort), and so does levee; ignored`,
    );
  return { pos, port: config.port, nodePort: config.nodePort || undefined };
}

/** Two workers on one node listening on the same fixed port would not both start. */
function checkFixedPorts(workers: readonly { node: string; template: RawTemplate }[], report: Report): void {
  const seen = new Set<string>();
  for (const { node, template } of workers) {
    if (typeof template.port !== "number") continue;
    const key = `${node}:${template.port}`;
    if (seen.has(key)) {
      report.issue(
        ["spec"],
        `two workers on node ${node} would both listen on port ${template.port} (workers share the node's ` +
          "network); let the component read its port from a variable (annotation levee.io/port-env)",
      );
    }
    seen.add(key);
  }
}

/** Go's zero value: nothing set anywhere (empty strings, zeros, false, empty lists and objects). */
export function isZero(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.every(isZero);
  if (typeof value === "object") return Object.values(value).every(isZero);
  return false;
}
