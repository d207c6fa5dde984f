// Dayu's resources as Dayu writes them: apiVersion sedna.io/v1alpha1, kinds JointMultiEdgeService
// (dayu-sedna pkg/apis/sedna/v1alpha1/jointmultiedgeservice_types.go: edgeWorker[], cloudWorker,
// serviceConfig) and RuntimeService (runtimeservice_types.go: one worker on targetNode, revision
// scoped). Typed where levee reads a field, loose everywhere else (see pod-schema.ts). The parsed
// object keeps the spec as written (the store keeps it, `get` shows it back) and lists the top-level
// and metadata fields levee does not read, for warnings.
import { z } from "zod";
import { annotationsSchema, dnsLabel, labelsSchema, type ObjectMeta } from "../meta.ts";
import { hostPathType, opt, podSpecSchema, podTemplateSchema } from "./pod-schema.ts";

export const SEDNA_API_VERSION = "sedna.io/v1alpha1";
export const DAYU_KINDS = ["JointMultiEdgeService", "RuntimeService"] as const;
export type DayuKind = (typeof DAYU_KINDS)[number];

const int = (min: number, max: number) => z.int().min(min).max(max);
const bool = z.boolean();

/** Metadata fields written by Kubernetes or levee: accepted and ignored without a warning. */
const SYSTEM_METADATA = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "updatedTimestamp",
  "selfLink",
  "managedFields",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

const sednaMetaSchema = z.looseObject({
  name: z.string().superRefine((name, ctx) => {
    const result = dnsLabel.safeParse(name);
    if (!result.success)
      ctx.addIssue({
        code: "custom",
        message: `${result.error.issues[0]?.message ?? "invalid"} (levee names the Service after it)`,
      });
  }),
  namespace: opt(dnsLabel),
  labels: opt(labelsSchema),
  annotations: opt(annotationsSchema),
  uid: opt(z.string()),
  resourceVersion: opt(z.union([z.string(), z.number()])),
});

/** Metadata of a parsed Dayu object: a levee ObjectMeta plus the namespace (NAMESPACE) and uid. */
export interface DayuMeta extends ObjectMeta {
  namespace: string;
  /** The uid the object was read with, if any: levee's own (then resourceVersion counts) or a cluster's. */
  uid?: string;
}

export const sednaMountSchema = z.looseObject({
  name: opt(z.string()),
  source: z.looseObject({
    type: opt(z.enum(["hostPath", "persistentVolumeClaim", "configMap", "secret", "emptyDir"])),
    hostPath: opt(
      z.looseObject({ path: z.string().min(1), prefix: opt(z.string()), pathType: opt(hostPathType) }),
    ),
    persistentVolumeClaim: opt(z.looseObject({ claimName: z.string(), readOnly: opt(bool) })),
    configMap: opt(z.looseObject({ name: z.string().min(1), optional: opt(bool) })),
    secret: opt(z.looseObject({ secretName: z.string().min(1), optional: opt(bool) })),
    emptyDir: opt(
      z.looseObject({ medium: opt(z.string()), sizeLimit: opt(z.union([z.string(), z.number()])) }),
    ),
  }),
  target: opt(
    z.looseObject({
      path: opt(z.string()),
      readOnly: opt(bool),
      subPath: opt(z.string()),
      mountPropagation: opt(z.string()),
    }),
  ),
  containers: opt(z.array(z.string())),
  envName: opt(z.string()),
});

export const sednaWorkerSchema = z.looseObject({
  template: opt(podTemplateSchema),
  logLevel: opt(z.looseObject({ level: opt(z.string()) })),
  file: opt(z.looseObject({ path: opt(z.string()), paths: opt(z.array(z.string())) })),
  mounts: opt(z.array(sednaMountSchema)),
});

export const serviceConfigSchema = z.looseObject({
  port: opt(int(0, 65535)),
  targetPort: opt(int(0, 65535)),
  nodePort: opt(int(0, 65535)),
  pos: opt(z.string()),
});

export const jmesSpecSchema = z.looseObject({
  edgeWorker: opt(z.array(sednaWorkerSchema)),
  cloudWorker: opt(sednaWorkerSchema),
  serviceConfig: opt(serviceConfigSchema),
});

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelValue = z
  .string()
  .max(63)
  .regex(LABEL_VALUE, "expected a label value: letters, digits, '-', '_', '.'");

export const runtimeSpecSchema = z.looseObject({
  installID: labelValue.min(1),
  deploymentRevision: int(1, Number.MAX_SAFE_INTEGER),
  component: labelValue.min(1),
  logicalService: opt(z.string().max(253)),
  targetNode: z.string().min(1),
  podTemplate: z.looseObject({
    metadata: opt(
      z.looseObject({ labels: opt(z.record(z.string(), z.string())), annotations: opt(z.unknown()) }),
    ),
    spec: podSpecSchema,
  }),
  endpoint: opt(z.looseObject({ port: int(1, 65535) })),
});

export type SednaMount = z.output<typeof sednaMountSchema>;
export type SednaWorker = z.output<typeof sednaWorkerSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type JmesSpec = z.output<typeof jmesSpecSchema>;
export type RuntimeSpec = z.output<typeof runtimeSpecSchema>;

interface DayuBase<K extends DayuKind, S> {
  apiVersion: typeof SEDNA_API_VERSION;
  kind: K;
  metadata: DayuMeta;
  /** The spec as written (unknown fields included). */
  spec: S;
  /** Top-level and metadata fields levee does not read, for warnings. */
  ignored: { path: string[]; value: unknown }[];
}

export type JmesResource = DayuBase<"JointMultiEdgeService", JmesSpec>;
export type RuntimeServiceResource = DayuBase<"RuntimeService", RuntimeSpec>;
export type DayuResource = JmesResource | RuntimeServiceResource;

function kindSchema<K extends DayuKind, S extends z.ZodType>(kind: K, spec: S) {
  return z
    .looseObject({
      apiVersion: z.literal(SEDNA_API_VERSION),
      kind: z.literal(kind),
      metadata: sednaMetaSchema,
      spec,
      status: z.unknown().optional(),
    })
    .transform((value): DayuBase<K, z.output<S>> => {
      const { apiVersion: _a, kind: _k, metadata, spec: parsedSpec, status: _s, ...rest } = value;
      const ignored: { path: string[]; value: unknown }[] = [];
      for (const [key, field] of Object.entries(rest)) ignored.push({ path: [key], value: field });
      const { name, namespace, labels, annotations, uid, resourceVersion, ...otherMeta } = metadata;
      for (const [key, field] of Object.entries(otherMeta)) {
        if (!SYSTEM_METADATA.includes(key)) ignored.push({ path: ["metadata", key], value: field });
      }
      const meta: DayuMeta = { name, namespace: namespace ?? "default", labels: labels ?? {} };
      if (annotations) meta.annotations = annotations;
      if (uid) meta.uid = uid;
      // Only a levee resourceVersion (a number) can be checked; a cluster's opaque one is not ours.
      const rv = resourceVersion === undefined || resourceVersion === null ? "" : String(resourceVersion);
      if (/^\d{1,15}$/.test(rv)) meta.resourceVersion = String(Number(rv));
      return {
        apiVersion: SEDNA_API_VERSION,
        kind,
        metadata: meta,
        spec: parsedSpec as z.output<S>,
        ignored,
      };
    });
}

export const jmesSchema = kindSchema("JointMultiEdgeService", jmesSpecSchema);
export const runtimeServiceSchema = kindSchema("RuntimeService", runtimeSpecSchema);
