// The Service kind: a named component with workers pinned to nodes (by name or by labels), the
// worker template they run, and the mesh section (the service port every node listens on, how
// requests are balanced, what happens when the addressed node has no ready worker).
//
//   apiVersion: levee/v1
//   kind: Service
//   metadata: { name: echo, labels: { app: demo } }
//   spec:
//     template: { driver: exec, command: [node, server.js], env: { GREETING: hello }, port: auto,
//                 health: { http: /health } }
//     workers:
//       - { node: edge1, replicas: 2 }
//       - { nodeSelector: { role: camera }, template: { env: { MODE: fast } } }
//     mesh: { port: 19100, protocol: http, balance: round-robin, fallback: none }
//     lostAfter: never
//     rollout: { staging: all-nodes }
import { z } from "zod";
import { dnsLabelProblem, isDnsLabel } from "../runtime/dns-name.ts";
import { duration } from "./duration.ts";
import { meshPortNumber } from "./fields.ts";
import { healthNeedsPort } from "./health.ts";
import { strict } from "./issues.ts";
import { dnsSubdomain, labelsSchema, resourceSchema } from "./meta.ts";
import { exactlyOneOf, resolvedTemplateForbids, resolvedTemplateNeeds } from "./schema-rules.ts";
import {
  applyOverride,
  type Template,
  type TemplateOverride,
  templateOverrideSchema,
  templateSchema,
} from "./template.ts";

export const MAX_REPLICAS = 1000;

const workerSchema = strict({
  node: dnsSubdomain.optional().meta({ description: "run on this node (a node name)" }),
  nodeSelector: labelsSchema
    .refine((labels) => Object.keys(labels).length > 0, "must name at least one label")
    .meta({ minProperties: 1 })
    .optional()
    .meta({ description: "run on every node with these labels" }),
  replicas: z.int().min(0).max(MAX_REPLICAS).default(1).meta({ description: "workers per node" }),
  template: templateOverrideSchema
    .optional()
    .meta({ description: "override: env is merged, other fields replace" }),
})
  .superRefine((worker, ctx) => {
    if (worker.node !== undefined && worker.nodeSelector !== undefined) {
      ctx.addIssue({ code: "custom", message: "set either node or nodeSelector, not both" });
    } else if (worker.node === undefined && worker.nodeSelector === undefined) {
      ctx.addIssue({ code: "custom", message: "set node (a node name) or nodeSelector (labels)" });
    }
  })
  .meta(exactlyOneOf(["node", "nodeSelector"]));

const upstreamSchema = strict({
  service: dnsSubdomain.meta({ description: "the service (in another namespace: name.namespace)" }),
  node: dnsSubdomain.meta({ description: "the node the stream goes to (a node name)" }),
  localPort: meshPortNumber.meta({ description: "port on 127.0.0.1 of the worker's node" }),
});

const meshSchema = strict({
  port: meshPortNumber.meta({ description: "service port every node listens on" }),
  protocol: z
    .enum(["tcp", "http"])
    .default("http")
    .meta({ description: "tcp: balance per connection; http: per request" }),
  balance: z.enum(["round-robin", "least-request", "p2c-ewma"]).default("round-robin"),
  fallback: z.enum(["none", "cloud", "any"]).default("none").meta({
    description:
      "when the addressed node has no ready worker: refuse (none), or use the cloud's or any node's",
  }),
  upstreams: z
    .array(upstreamSchema)
    .optional()
    .meta({ description: "local ports on this service's nodes that lead to a service on a node" }),
}).superRefine((mesh, ctx) => {
  const seen = new Map<number, number>();
  mesh.upstreams?.forEach((upstream, i) => {
    const first = seen.get(upstream.localPort);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `localPort ${upstream.localPort} is already used by upstreams[${first}]`,
        path: ["upstreams", i, "localPort"],
      });
    } else seen.set(upstream.localPort, i);
  });
});

const rolloutSchema = strict({
  staging: z.enum(["off", "per-node", "all-nodes"]).default("off").meta({
    description:
      "fetch what a new generation needs (artifacts) while the old workers keep serving, then switch: per-node (each node when it has everything) or all-nodes (every node once all of them have it); off: switch at once",
  }),
});

const serviceSpecObject = strict({
  template: templateSchema.prefault({}).meta({ description: "shared by all workers" }),
  workers: z.array(workerSchema).min(1, "must have at least one entry (node or nodeSelector)"),
  mesh: meshSchema.optional(),
  lostAfter: duration({ min: 1, keyword: "never" })
    .default("never")
    .meta({ description: "how long a node may be disconnected before its selector-placed workers move" }),
  rollout: rolloutSchema.optional().meta({ description: "how nodes switch to a new generation" }),
});

export const serviceSpecSchema = serviceSpecObject
  .superRefine(checkResolvedTemplates, {
    // Only when the spec is an object whose template and workers parsed: the check reads them.
    when: (payload) =>
      typeof payload.value === "object" &&
      payload.value !== null &&
      !payload.issues.some(
        (issue) =>
          (issue.path?.length ?? 0) === 0 || issue.path?.[0] === "template" || issue.path?.[0] === "workers",
      ),
  })
  // The same rules for the exported JSON Schema (templateProblems: the fields each driver needs,
  // and an image only for containers).
  .meta({
    allOf: [
      ...resolvedTemplateNeeds("exec", "container", "command"),
      ...resolvedTemplateNeeds("container", "exec", "image"),
      ...resolvedTemplateForbids("exec", "container", "image"),
    ],
  });

export const serviceSchema = resourceSchema("Service", { spec: serviceSpecSchema });

export type ServiceSpec = z.output<typeof serviceSpecObject>;
export type WorkerEntry = ServiceSpec["workers"][number];
export type Mesh = NonNullable<ServiceSpec["mesh"]>;
export type Staging = NonNullable<ServiceSpec["rollout"]>["staging"];
export type ServiceResource = z.output<typeof serviceSchema>;

/** The template one worker entry runs: the shared template with its override (env merged). */
export function resolveWorkerTemplate(
  spec: Pick<ServiceSpec, "template">,
  worker: Pick<WorkerEntry, "template">,
): Template {
  return applyOverride(spec.template, worker.template);
}

interface TemplateProblem {
  /** The template field the problem is about (decides where it is reported). */
  field: keyof Template;
  rest?: (string | number)[];
  message: string;
}

/** What is wrong with a resolved template: fields its driver needs or does not take. */
export function templateProblems(template: Template): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const container = template.driver === "container";
  if (!container && template.command === undefined) {
    problems.push({
      field: "command",
      message: 'required for driver exec: the program to run, e.g. ["node", "server.js"]',
    });
  }
  if (container && template.image === undefined) {
    problems.push({ field: "image", message: "required for driver container: the image to run" });
  }
  if (!container) {
    const only = "is for driver container only";
    if (template.image !== undefined)
      problems.push({ field: "image", message: `${only} (this worker runs driver exec)` });
    if (template.privileged) problems.push({ field: "privileged", message: only });
    if (template.devices.length > 0) problems.push({ field: "devices", message: only });
    if (template.runtime !== undefined) problems.push({ field: "runtime", message: only });
    if (template.gpus !== undefined) problems.push({ field: "gpus", message: only });
    if (template.cdiDevices !== undefined) problems.push({ field: "cdiDevices", message: only });
  }
  if (template.health && healthNeedsPort(template.health) && template.port === undefined) {
    const check = template.health.http !== undefined ? "http" : "tcp";
    problems.push({
      field: "health",
      rest: [check],
      message: `a ${check} check of the worker's port needs port (a number or "auto")`,
    });
  }
  for (const [name, ref] of Object.entries(template.secretEnv ?? {})) {
    if (!isDnsLabel(ref.secret))
      problems.push({
        field: "secretEnv",
        rest: [name, "secret"],
        message: `a Secret of the Service's own namespace: ${dnsLabelProblem(ref.secret)}`,
      });
  }
  template.mounts.forEach((mount, i) => {
    for (const [field, kind] of [
      ["config", "Config"],
      ["secret", "Secret"],
    ] as const) {
      const name = mount[field]?.name;
      if (name !== undefined && !isDnsLabel(name)) {
        problems.push({
          field: "mounts",
          rest: [i, field, "name"],
          message: `a ${kind} of the Service's own namespace: ${dnsLabelProblem(name)}`,
        });
      }
    }
    if (container && mount.target === undefined) {
      problems.push({
        field: "mounts",
        rest: [i, "target"],
        message: "required for driver container: where the files appear",
      });
    }
    if (!container && mount.target === undefined && mount.envName === undefined) {
      problems.push({
        field: "mounts",
        rest: [i, "envName"],
        message: "an exec worker finds a mount through envName: set it",
      });
    }
  });
  return problems;
}

/**
 * Checks every worker's resolved template. A problem is reported where it can be fixed: in the
 * worker's override when that sets the field (or the driver), otherwise in the shared template
 * (once, however many workers inherit it).
 */
function checkResolvedTemplates(spec: ServiceSpec, ctx: z.core.$RefinementCtx<ServiceSpec>): void {
  const reported = new Set<string>();
  spec.workers.forEach((worker, i) => {
    for (const problem of templateProblems(resolveWorkerTemplate(spec, worker))) {
      const inOverride = overrides(worker.template, problem.field);
      const path = [
        ...(inOverride ? ["workers", i, "template"] : ["template"]),
        problem.field,
        ...(problem.rest ?? []),
      ];
      const key = `${path.join("\0")}\0${problem.message}`;
      if (reported.has(key)) continue;
      reported.add(key);
      ctx.addIssue({ code: "custom", message: problem.message, path });
    }
  });
}

function overrides(override: TemplateOverride | undefined, field: keyof Template): boolean {
  if (!override) return false;
  return (
    override[field] !== undefined ||
    (field !== "health" && field !== "mounts" && override.driver !== undefined)
  );
}
