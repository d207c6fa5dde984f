// A node's plan: everything one node must run, computed by the cloud's planner and shipped whole
// to the node (docs/PROTOCOL.md, message "plan"). It is the contract between the cloud and a
// node's supervisor and mesh: resolved worker templates (overrides already merged), the configs
// its workers mount, and the mesh settings of the services it serves. Config files travel by
// reference (sha256 and size): the node fetches their bytes over HTTP (src/node/configs/), so a
// plan stays small however large the Configs it mounts are.
import { z } from "zod";
import { sha256Schema } from "./artifact.ts";
import { plannedImageSchema } from "./image-ref.ts";
import { dnsSubdomain } from "./meta.ts";

/**
 * The format of the plan body. 1 (no `format` field in the message): Config files inline in
 * `configs`; 2: Config files by reference in `configFiles`. A node refuses a format it does not know.
 */
export const PLAN_FORMAT = 2;

/** Default limits of one node's plan (the cloud's --max-services-per-node, --max-workers-per-node). */
export const DEFAULT_MAX_SERVICES_PER_NODE = 250;
export const DEFAULT_MAX_WORKERS_PER_NODE = 1000;

/** One file of a Config, by reference: the node fetches the bytes by their sha256. */
export const configFileRefSchema = z.object({
  sha256: sha256Schema,
  size: z.number().int().min(0),
});

export const plannedWorkerSchema = z.object({
  /** 0-based index among this service's workers on this node; stable while the spec's order is. */
  index: z.number().int().min(0),
  /** The effective worker template (template + the worker entry's override), as in the manifest. */
  template: z.record(z.string(), z.unknown()),
  /**
   * How many restarts were requested for this worker (`levee ctl restart`); absent when none. A new
   * value makes the node replace the running instance at once, without a spec change. An agent
   * older than this field drops it when it reads the plan (unknown keys are stripped), so it ignores
   * the request and runs the rest of the plan as before.
   */
  restart: z.number().int().min(0).optional(),
});

export const plannedServiceSchema = z.object({
  /**
   * The service as nodes know it (`svc`, or `svc.namespace`): a DNS subdomain, so always one file
   * name (the worker directories are <data-dir>/workers/<service>/<index>), never '/' or '..'.
   */
  name: dnsSubdomain,
  uid: z.string(),
  generation: z.number().int(),
  workers: z.array(plannedWorkerSchema),
  mesh: z.record(z.string(), z.unknown()).optional(),
  lostAfter: z.string().optional(),
  /** The service's spec.rollout.staging when not off: how its nodes switch generations. */
  staging: z.enum(["per-node", "all-nodes"]).optional(),
  /**
   * A generation held back while the node fetches what it needs: `workers` (above) still run the
   * old one; the node fetches these workers' artifacts, reports, and runs nothing of them yet.
   * An agent older than this field drops it and keeps the old workers until the switch.
   */
  staged: z.object({ generation: z.number().int(), workers: z.array(plannedWorkerSchema) }).optional(),
});

export const nodePlanSchema = z.object({
  node: z.string(),
  services: z.array(plannedServiceSchema),
  /** Config objects mounted by this node's workers: Config name → file name → its content's reference. */
  configFiles: z.record(z.string(), z.record(z.string(), configFileRefSchema)),
  /**
   * The container images of this node's workers that the cloud holds (levee ctl image push), by the
   * template's `image:` as written. Absent when there is none, so that other plans stay as they were.
   */
  images: z.record(z.string(), plannedImageSchema).optional(),
  /** The cap the cloud sets on this node's downloads, bytes/s (levee ctl node set-bandwidth); absent: none. */
  downloadBandwidth: z.number().int().min(1).optional(),
});

export type PlannedWorker = z.infer<typeof plannedWorkerSchema>;
export type PlannedService = z.infer<typeof plannedServiceSchema>;
export type NodePlan = z.infer<typeof nodePlanSchema>;
export type ConfigFileRef = z.infer<typeof configFileRefSchema>;
/** A Config's files in a plan: file name → reference. */
export type ConfigFileRefs = Record<string, ConfigFileRef>;
