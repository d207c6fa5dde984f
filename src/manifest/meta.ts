// What every levee object has: apiVersion, kind and metadata (name, labels, annotations).
//
// System fields (uid, generation, resourceVersion, creationTimestamp, updatedTimestamp) are accepted on input so
// that the output of `levee ctl get -o yaml` can be applied again, but the API owns them: uid,
// generation and creationTimestamp are dropped by the parser; resourceVersion is kept (as a
// decimal string, the Kubernetes convention, whether it was sent as 42 or "42") because a client
// that sends it asks for optimistic concurrency: the API refuses the change with 409 when the
// stored object has moved on.
import { z } from "zod";
import { DNS_LABEL, DNS_SUBDOMAIN, dnsLabelProblem, dnsSubdomainProblem } from "../runtime/dns-name.ts";
import { describeValue, strict } from "./issues.ts";

export const API_VERSION = "levee/v1";

const LABEL_NAME = /^(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A DNS label: names of objects (they appear in host names like `svc.node.levee`). */
export const dnsLabel = z
  .string()
  .regex(DNS_LABEL, { error: (iss) => dnsLabelProblem(String(iss.input)) })
  .meta({ description: "a DNS label: lower-case letters, digits and '-', at most 63 characters" });

/**
 * A DNS subdomain: node names (`edge-1`, `cloud.kubeedge`), and service names as nodes know them
 * (`svc`, or `svc.namespace` outside the default namespace).
 */
export const dnsSubdomain = z
  .string()
  .regex(DNS_SUBDOMAIN, { error: (iss) => dnsSubdomainProblem(String(iss.input)) })
  .meta({
    description:
      "a DNS subdomain: DNS labels joined by '.', e.g. edge-1 or cloud.kubeedge; at most 253 characters",
  });

/** Why a string is not a Kubernetes-style label key (`[prefix/]name`), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) {
    return (
      `label key ${JSON.stringify(key)}: the prefix before '/' must be a DNS subdomain ` +
      `(lower-case letters, digits, '-' and '.', at most 253 characters), e.g. "example.com/role"`
    );
  }
  if (!LABEL_NAME.test(name)) {
    return (
      `label key ${JSON.stringify(key)}: the name must be 1-63 characters of letters, digits, ` +
      `'-', '_' and '.', starting and ending with a letter or digit`
    );
  }
  return undefined;
}

const labelKey = z.string().superRefine((key, ctx) => {
  const problem = labelKeyProblem(key);
  if (problem) ctx.addIssue({ code: "custom", message: problem, input: key });
});

const labelValue = z.string().superRefine((value, ctx) => {
  if (value !== "" && !LABEL_NAME.test(value)) {
    ctx.addIssue({
      code: "custom",
      input: value,
      message:
        `label value ${describeValue(value)}: must be empty or 1-63 characters of letters, digits, ` +
        `'-', '_' and '.', starting and ending with a letter or digit`,
    });
  }
});

/** Labels: what selectors match (`nodeSelector: {role: camera}`). */
export const labelsSchema = z.record(labelKey, labelValue).meta({
  description: "labels: keys [prefix/]name, values of at most 63 characters",
});

const ANNOTATIONS_LIMIT = 256 * 1024;

/** Annotations: free-form notes for tools; values are any strings, 256 KiB in total. */
export const annotationsSchema = z.record(labelKey, z.string()).superRefine((annotations, ctx) => {
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) size += key.length + value.length;
  if (size > ANNOTATIONS_LIMIT) {
    ctx.addIssue({
      code: "custom",
      message: `annotations must be at most 256 KiB in total, got ${size} bytes`,
    });
  }
});

/** A resourceVersion sent back by a client: "42" or 42, parsed to the string "42". */
const resourceVersionSchema = z.union(
  [
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform((text) => String(Number(text))),
    z
      .int()
      .min(0)
      .transform((n) => String(n)),
  ],
  {
    error: (iss) =>
      `expected a resourceVersion (a number) as returned by the API, got ${describeValue(iss.input)}`,
  },
);

/** Metadata whose name follows `name`: a DNS label for objects, a DNS subdomain for a Node. */
function objectMeta(name: z.ZodType<string>) {
  return strict({
    name,
    namespace: dnsLabel.optional().meta({
      description:
        'the namespace (default "default"); cluster-wide kinds (Node, ImageMap, Namespace) have none',
    }),
    labels: labelsSchema.default({}),
    annotations: annotationsSchema.optional(),
    // System fields, written by the API (see the header).
    uid: z.string().optional().meta({ description: "set by the system; ignored on apply" }),
    generation: z.int().min(0).optional().meta({ description: "set by the system; ignored on apply" }),
    resourceVersion: resourceVersionSchema.optional().meta({
      description:
        "set by the system; when sent back, the change applies only if the object has not changed since",
    }),
    creationTimestamp: z.string().optional().meta({ description: "set by the system; ignored on apply" }),
    updatedTimestamp: z.string().optional().meta({ description: "set by the system; ignored on apply" }),
  }).transform((meta) => {
    const out: ObjectMeta = { name: meta.name, labels: meta.labels };
    if (meta.namespace !== undefined) out.namespace = meta.namespace;
    if (meta.annotations !== undefined) out.annotations = meta.annotations;
    if (meta.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
    return out;
  });
}

const objectMetaSchema = objectMeta(dnsLabel);
const nodeMetaSchema = objectMeta(dnsSubdomain);

/** Metadata of a parsed object (system fields other than resourceVersion are gone). */
export interface ObjectMeta {
  name: string;
  /** As written; absent means `default` (src/manifest/namespace.ts). */
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** Present only when the client sent it: the version its change is based on (decimal digits). */
  resourceVersion?: string;
}

/**
 * An object schema for one kind: apiVersion, kind, metadata and the kind's own fields. A `status`
 * (as returned by the API) is accepted and dropped: status is written only by the system. Object
 * names are DNS labels; `names: "node"` (the Node kind) takes a node name, a DNS subdomain.
 */
export function resourceSchema<K extends string, S extends z.core.$ZodLooseShape>(
  kind: K,
  shape: S,
  names: "object" | "node" = "object",
) {
  return strict({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: names === "node" ? nodeMetaSchema : objectMetaSchema,
    ...shape,
    status: z.unknown().optional().meta({ description: "written by the system; ignored on apply" }),
  }).transform(withoutStatus);
}

function withoutStatus<T extends object>(object: T): Omit<T, "status"> {
  const { status: _status, ...rest } = object as T & { status?: unknown };
  return rest;
}
