// A node's plan: everything one node must run, computed by the cloud's planner and shipped whole
// to the node (docs/PROTOCOL.md, message "plan"). It is the contract between the cloud and a
// node's supervisor and mesh: resolved worker templates (overrides already merged), the configs
// its workers mount, and the mesh settings of the services it serves.
import { z } from "zod";

export const plannedWorkerSchema = z.object({
  /** 0-based index among this service's workers on this node; stable while the spec's order is. */
  index: z.number().int().min(0),
  /** The effective worker template (template + the worker entry's override), as in the manifest. */
  template: z.record(z.string(), z.unknown()),
});

export const plannedServiceSchema = z.object({
  name: z.string(),
  uid: z.string(),
  generation: z.number().int(),
  workers: z.array(plannedWorkerSchema),
  mesh: z.record(z.string(), z.unknown()).optional(),
  lostAfter: z.string().optional(),
});

export const nodePlanSchema = z.object({
  node: z.string(),
  services: z.array(plannedServiceSchema),
  /** Config objects mounted by this node's workers: name → {data, binaryData}. */
  configs: z.record(
    z.string(),
    z.object({
      data: z.record(z.string(), z.string()).default({}),
      binaryData: z.record(z.string(), z.string()).default({}),
    }),
  ),
});

export type PlannedWorker = z.infer<typeof plannedWorkerSchema>;
export type PlannedService = z.infer<typeof plannedServiceSchema>;
export type NodePlan = z.infer<typeof nodePlanSchema>;
