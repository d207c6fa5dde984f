// The planner: desired state (services, configs, nodes) → one plan per node. Pure: no I/O, so the
// placement rules are tested without a database.
//
// Placement: a worker entry with `node: X` puts `replicas` workers on X, whatever X's phase (a
// pinned worker waits for its node). A worker entry with `nodeSelector` puts `replicas` workers on
// every node whose labels match, except nodes that are Lost. Worker indices count from 0 per
// (service, node), in the order of the spec's worker entries. A cordoned or draining node
// (`unschedulable`) gets at most `selectorBudget` selector workers of a service (drain.ts).
//
// Limits: a node's plan must stay deliverable (one sync message) and bounded (services and workers
// per node). A service goes onto a node whole (all its workers there) or not at all: one that
// would cross a limit is left out and reported in `unplaced` with the reason. Services the node's
// current plan already runs are placed first, so a newcomer never pushes a running one out.
//
// Restarts: a worker for which restarts were requested carries their count (`restart`, from
// `restartOf`); every other worker's entry is exactly as without it.

import { canonicalJson } from "../manifest/canonical.ts";
import { configFileRefs } from "../manifest/config.ts";
import type { PlannedImage } from "../manifest/image-ref.ts";
import type { ConfigFileRefs, NodePlan, PlannedService } from "../manifest/plan.ts";
import { secretPlanKey } from "../manifest/secret.ts";

export interface WorkerEntryLike {
  node?: string | undefined;
  nodeSelector?: Record<string, string> | undefined;
  replicas?: number | undefined;
  template?: Record<string, unknown> | undefined;
}

export interface PlannerService {
  name: string;
  uid: string;
  generation: number;
  spec: {
    template: Record<string, unknown>;
    workers: WorkerEntryLike[];
    mesh?: Record<string, unknown> | undefined;
    lostAfter?: string | undefined;
    rollout?: { staging?: string | undefined } | undefined;
  };
}

export interface PlannerConfig {
  name: string;
  spec: { data?: Record<string, string> | undefined; binaryData?: Record<string, string> | undefined };
}

export interface PlannerNode {
  name: string;
  labels: Record<string, string>;
  phase: string;
  /** Cordoned or draining: no new nodeSelector workers (pinned ones are placed as always). */
  unschedulable?: boolean | undefined;
  /** The cap on the node's downloads, bytes/s (levee ctl node set-bandwidth); none: unlimited. */
  downloadBandwidth?: number | undefined;
}

export interface PlanLimits {
  /** Services with workers on one node. */
  servicesPerNode: number;
  /** Workers on one node. */
  workersPerNode: number;
  /** The largest plan body (canonical JSON, bytes) a node's plan message can carry. */
  planBytes: (node: string) => number;
}

export interface PlannerInput {
  services: PlannerService[];
  configs: PlannerConfig[];
  nodes: PlannerNode[];
  /** The effective template of one worker entry (the template with the entry's override merged). */
  resolveTemplate: (spec: PlannerService["spec"], entry: WorkerEntryLike) => Record<string, unknown>;
  /** None: no limits (views that only need placement). */
  limits?: PlanLimits | undefined;
  /** The services each node's current plan runs: they are placed first. */
  placedBefore?: ((node: string) => ReadonlySet<string>) | undefined;
  /** Restarts requested for a worker (service, node, index); none: 0 for every worker. */
  restartOf?: ((service: string, node: string, index: number) => number) | undefined;
  /** The selector workers an unschedulable node may run of a service; none: 0. */
  selectorBudget?: ((service: string, node: string) => number) | undefined;
  /** The cloud's copy of a container image (levee ctl image push), by a template's `image:`. */
  images?: ((reference: string) => PlannedImage | undefined) | undefined;
}

/** Which limit kept a service off a node. */
export type LimitName = "servicesPerNode" | "workersPerNode" | "planBytes";

/** A service whose workers a node should run but that would cross one of the node's limits. */
export interface Unplaced {
  service: string;
  node: string;
  workers: number;
  limit: LimitName;
  reason: string;
}

export interface PlannedNode {
  plan: NodePlan;
  unplaced: Unplaced[];
}

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

function entryPlacesOn(entry: WorkerEntryLike, node: PlannerNode): boolean {
  if (entry.node !== undefined) return entry.node === node.name;
  if (entry.nodeSelector !== undefined)
    return node.phase !== "Lost" && selectorMatches(entry.nodeSelector, node.labels);
  return false;
}

/**
 * Whether a node's phase change can move workers: only Lost is seen by placement, so only a
 * change to or from Lost needs a re-plan (Ready ↔ Disconnected flaps of a big fleet cost nothing).
 */
export function phaseChangeAffectsPlacement(change: { from: string; to: string }): boolean {
  return change.from !== change.to && (change.from === "Lost" || change.to === "Lost");
}

/**
 * Plan names of the Config and Secret objects a template uses (mounts, secretEnv): a Config's key,
 * a Secret's secretPlanKey.
 */
export function mountedConfigs(template: Record<string, unknown>): string[] {
  const mounts = Array.isArray(template.mounts) ? template.mounts : [];
  const names: string[] = [];
  for (const mount of mounts) {
    const { config, secret } = mount as { config?: { name?: unknown }; secret?: { name?: unknown } };
    if (config && typeof config.name === "string") names.push(config.name);
    if (secret && typeof secret.name === "string") names.push(secretPlanKey(secret.name));
  }
  const secretEnv = template.secretEnv;
  if (typeof secretEnv === "object" && secretEnv !== null) {
    for (const ref of Object.values(secretEnv) as { secret?: unknown }[])
      if (typeof ref?.secret === "string") names.push(secretPlanKey(ref.secret));
  }
  return names;
}

/** One service's part of a node's plan, before the limits are checked. */
interface Candidate {
  service: PlannedService;
  configs: string[];
  /** The container images its workers run that the cloud holds. */
  images: Map<string, PlannedImage>;
}

/** A container template's image, when the cloud holds it. */
function cloudImage(
  input: PlannerInput,
  template: Record<string, unknown>,
): [string, PlannedImage] | undefined {
  if (template.driver !== "container" || typeof template.image !== "string" || !input.images)
    return undefined;
  const image = input.images(template.image);
  return image ? [template.image, image] : undefined;
}

function candidatesFor(input: PlannerInput, node: PlannerNode): Candidate[] {
  const before = input.placedBefore?.(node.name);
  const order = (s: PlannerService) => (before?.has(s.name) ? 0 : 1);
  const sorted = [...input.services].sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
  const out: Candidate[] = [];
  for (const service of sorted) {
    const workers: PlannedService["workers"] = [];
    const configs = new Set<string>();
    const images = new Map<string, PlannedImage>();
    let selectorLeft = node.unschedulable
      ? (input.selectorBudget?.(service.name, node.name) ?? 0)
      : Number.POSITIVE_INFINITY;
    for (const entry of service.spec.workers) {
      if (!entryPlacesOn(entry, node)) continue;
      let count = entry.replicas ?? 1;
      if (entry.node === undefined) {
        count = Math.min(count, selectorLeft);
        selectorLeft -= count;
      }
      if (count === 0) continue;
      const template = input.resolveTemplate(service.spec, entry);
      for (const name of mountedConfigs(template)) configs.add(name);
      const image = cloudImage(input, template);
      if (image) images.set(image[0], image[1]);
      for (let r = 0; r < count; r++) {
        const index = workers.length;
        const restart = input.restartOf?.(service.name, node.name, index) ?? 0;
        workers.push(restart > 0 ? { index, template, restart } : { index, template });
      }
    }
    if (workers.length === 0) continue;
    out.push({
      service: {
        name: service.name,
        uid: service.uid,
        generation: service.generation,
        workers,
        ...(service.spec.mesh ? { mesh: service.spec.mesh } : {}),
        ...(service.spec.lostAfter ? { lostAfter: service.spec.lostAfter } : {}),
        ...stagingOf(service.spec.rollout?.staging),
      },
      configs: [...configs],
      images,
    });
  }
  return out;
}

/** The planned service's staging field: only per-node and all-nodes go to nodes. */
function stagingOf(staging: string | undefined): Pick<PlannedService, "staging"> {
  return staging === "per-node" || staging === "all-nodes" ? { staging } : {};
}

const bytes = (value: unknown): number => Buffer.byteLength(canonicalJson(value), "utf8");

/**
 * The plan of one node. `refs` holds every Config's file references (configRefsOf): computed once
 * for all nodes. Sizes are counted as the plan's canonical JSON grows: each service costs its JSON
 * and a comma, each Config its key, a colon, its JSON and a comma (an upper bound of the result).
 */
export function planNode(
  input: PlannerInput,
  node: PlannerNode,
  refs: ReadonlyMap<string, ConfigFileRefs> = configRefsOf(input.configs),
): PlannedNode {
  const { limits } = input;
  const services: PlannedService[] = [];
  const configFiles: NodePlan["configFiles"] = {};
  const images: NonNullable<NodePlan["images"]> = {};
  const unplaced: Unplaced[] = [];
  let workers = 0;
  let size = bytes({ configFiles: {}, node: node.name, services: [] });
  const budget = limits?.planBytes(node.name) ?? Number.POSITIVE_INFINITY;
  for (const candidate of candidatesFor(input, node)) {
    const { service } = candidate;
    const added = candidate.configs.filter((name) => refs.has(name) && !Object.hasOwn(configFiles, name));
    const newImages = [...candidate.images].filter(([ref]) => !Object.hasOwn(images, ref));
    const cost =
      bytes(service) +
      1 +
      added.reduce((sum, name) => sum + bytes(name) + 1 + bytes(refs.get(name)) + 1, 0) +
      newImages.reduce(
        (sum, [ref, image]) => sum + bytes(ref) + 1 + bytes(image) + 1,
        newImages.length > 0 && Object.keys(images).length === 0 ? 12 : 0,
      );
    const count = service.workers.length;
    const refuse = (limit: LimitName, reason: string) =>
      unplaced.push({ service: service.name, node: node.name, workers: count, limit, reason });
    if (limits && services.length + 1 > limits.servicesPerNode) {
      refuse(
        "servicesPerNode",
        `node ${node.name} already runs ${services.length} services, the limit (--max-services-per-node) is ${limits.servicesPerNode}`,
      );
    } else if (limits && workers + count > limits.workersPerNode) {
      refuse(
        "workersPerNode",
        `node ${node.name} would run ${workers + count} workers, the limit (--max-workers-per-node) is ${limits.workersPerNode}`,
      );
    } else if (size + cost > budget) {
      refuse(
        "planBytes",
        `node ${node.name}'s plan would be ${size + cost} bytes, more than the ${budget} one sync message can carry`,
      );
    } else {
      services.push(service);
      workers += count;
      size += cost;
      for (const name of added) configFiles[name] = refs.get(name) as ConfigFileRefs;
      for (const [ref, image] of newImages) images[ref] = image;
    }
  }
  services.sort((a, b) => a.name.localeCompare(b.name));
  const plan: NodePlan = { node: node.name, services, configFiles };
  if (Object.keys(images).length > 0) plan.images = images;
  if (node.downloadBandwidth !== undefined) plan.downloadBandwidth = node.downloadBandwidth;
  return { plan, unplaced };
}

/** Every Config's file references, by Config name. */
function configRefsOf(configs: readonly PlannerConfig[]): Map<string, ConfigFileRefs> {
  return new Map(configs.map((c) => [c.name, configFileRefs(c.spec)]));
}

/** The plan of every known node. */
export function planAll(input: PlannerInput): Map<string, PlannedNode> {
  const refs = configRefsOf(input.configs);
  return new Map(input.nodes.map((node) => [node.name, planNode(input, node, refs)]));
}

/** Worker entries pinned to nodes that have not joined: shown as pending by the workers view. */
export function pinnedToUnknownNodes(
  input: PlannerInput,
): { service: string; node: string; replicas: number }[] {
  const known = new Set(input.nodes.map((n) => n.name));
  const out: { service: string; node: string; replicas: number }[] = [];
  for (const service of input.services) {
    for (const entry of service.spec.workers) {
      if (entry.node !== undefined && !known.has(entry.node)) {
        out.push({ service: service.name, node: entry.node, replicas: entry.replicas ?? 1 });
      }
    }
  }
  return out;
}
