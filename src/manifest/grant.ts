// The Grant kind: what a service account may do through the Kubernetes API beyond reading its own
// namespace. A worker that asks for the API (template `kubeApi`, or a Dayu pod's
// serviceAccountName) gets a token of its own; by default it may only read. A Grant in a namespace
// names a service account of that namespace and rules (verbs on resources, by their plural) that
// hold in that namespace only: Dayu's backend needs
//   rules: [{verbs: [create, delete, get, list, watch, update, patch],
//            resources: [jointmultiedgeservices, services, deployments, pods]}]
// Cluster-wide writes (namespaces) stay with the admin.
import { z } from "zod";
import { strict } from "./issues.ts";
import { dnsLabel, resourceSchema } from "./meta.ts";

export const GRANT_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "*"] as const;

const ruleSchema = strict({
  verbs: z.array(z.enum(GRANT_VERBS)).min(1).max(8).meta({ description: "Kubernetes verbs, or *" }),
  resources: z
    .array(
      z
        .string()
        .regex(/^(\*|[a-z][a-z0-9.-]{0,252})$/, "expected a resource plural (pods, services...) or *"),
    )
    .min(1)
    .max(64)
    .meta({
      description: "resource plurals: pods, services, deployments, jointmultiedgeservices, ..., or *",
    }),
});

export const grantSchema = resourceSchema("Grant", {
  spec: strict({
    serviceAccount: dnsLabel.meta({
      description: "the service account (in the Grant's namespace) it is for",
    }),
    rules: z.array(ruleSchema).min(1).max(64),
  }),
});

export type GrantResource = z.output<typeof grantSchema>;
