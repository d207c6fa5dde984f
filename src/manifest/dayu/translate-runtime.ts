// A RuntimeService (Dayu's newer, revision-scoped kind: dayu-sedna controllers/runtimeservice) → one
// native Service of the same name with the containers of its pod template on targetNode. The pod
// template is "fully rendered": the controller injects no env and no mounts. The endpoint (a
// ClusterIP service in Kubernetes, reached by DNS name) becomes a node-targeted mesh port allocated
// from 30000-32767 and kept, with fallback `any`: every node's port reaches the one worker, as a
// ClusterIP does. Sedna's activation handshake maps onto levee's route status (pending → applied,
// GET $LEVEE_AGENT_URL/v1/routes/NAME).
import type { RawService } from "./native.ts";
import { podWorkers } from "./pod.ts";
import type { RuntimeServiceResource } from "./sedna-schema.ts";
import {
  assembleService,
  beginTranslation,
  checkNodeName,
  fieldRefs,
  meshEntry,
  type TranslateContext,
} from "./translate-context.ts";
import type { Report } from "./warnings.ts";

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function translateRuntime(
  object: RuntimeServiceResource,
  ctx: TranslateContext,
  report: Report,
): RawService | undefined {
  const options = beginTranslation(
    object,
    [
      "installID",
      "deploymentRevision",
      "component",
      "logicalService",
      "targetNode",
      "podTemplate",
      "endpoint",
    ],
    report,
  );
  const { spec, metadata } = object;
  const name = metadata.name;
  const node = checkNodeName(spec.targetNode, ["spec", "targetNode"], report);
  const podPath = ["spec", "podTemplate", "spec"];
  const pod = spec.podTemplate.spec;
  if (pod.nodeName && pod.nodeName !== spec.targetNode)
    report.issue([...podPath, "nodeName"], `conflicts with targetNode ${JSON.stringify(spec.targetNode)}`);
  if (pod.restartPolicy && pod.restartPolicy !== "Always")
    report.issue([...podPath, "restartPolicy"], 'a RuntimeService runs with "Always" (or leave it out)');
  report.unknownFields(spec.podTemplate, ["metadata", "spec"], ["spec", "podTemplate"]);
  const podMeta = spec.podTemplate.metadata;
  if (podMeta?.labels && Object.keys(podMeta.labels).length > 0)
    report.warn(["spec", "podTemplate", "metadata", "labels"], "pod labels: levee has no pods; ignored");

  const endpoint = spec.endpoint ?? undefined;
  if (endpoint) {
    report.unknownFields(endpoint, ["port"], ["spec", "endpoint"]);
    const declared = pod.containers.some((c) =>
      (c.ports ?? []).some((p) => p.containerPort === endpoint.port && (p.protocol ?? "TCP") === "TCP"),
    );
    if (!declared)
      report.issue(
        ["spec", "endpoint", "port"],
        `port ${endpoint.port} is not declared as a TCP container port`,
      );
  }
  const templates = podWorkers({
    pod,
    path: podPath,
    scope: { service: name, pod: "pod", configExists: ctx.configExists },
    planned: [],
    injectedEnv: {},
    agentUrlEnv: [],
    serving: endpoint?.port,
    portEnv: options.portEnv,
    ctx: { rules: ctx.rules, report, fieldRefs: fieldRefs(node, metadata.namespace) },
  });
  if (report.issues.length > 0 || node === undefined) return undefined;

  const labels: Record<string, string> = {
    ...metadata.labels,
    "dayu.io/install-id": spec.installID,
    "dayu.io/deployment-revision": String(spec.deploymentRevision),
    "dayu.io/component": spec.component,
    "dayu.io/runtime-id": name,
  };
  if (spec.logicalService) {
    if (spec.logicalService.length <= 63 && LABEL_VALUE.test(spec.logicalService))
      labels["dayu.io/logical-service"] = spec.logicalService;
    else
      report.warn(["spec", "logicalService"], "not a valid label value, so not kept on the Service; ignored");
  }
  let mesh: RawService["spec"]["mesh"];
  if (endpoint) {
    const port = ctx.meshPort(name, undefined);
    report.warn(
      ["spec", "endpoint", "port"],
      `there are no cluster IPs in levee: ${name}.${metadata.namespace}:${endpoint.port} does not resolve; ` +
        `the worker is reached at <any node's address>:${port} (GET $LEVEE_AGENT_URL/v1/services/${name})`,
    );
    mesh = meshEntry(port, options, "any");
  }
  return assembleService(
    name,
    labels,
    templates.map((template) => ({ node, template })),
    mesh,
  );
}
