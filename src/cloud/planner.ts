// The planner: desired state (services, configs, nodes) → one plan per node. Pure: no I/O, so the
// placement rules are tested without a database.
//
// Placement: a worker entry with `node: X` puts `replicas` workers on X, whatever X's phase (a
// pinned worker waits for its node). A worker entry with `nodeSelector` puts `replicas` workers on
// every node whose labels match, except nodes that are Lost. Worker indices count from 0 per
// (service, node), in the order of the spec's worker entries.
import type { NodePlan, PlannedService } from "../api/plan.ts";

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
}

export interface PlannerInput {
  services: PlannerService[];
  configs: PlannerConfig[];
  nodes: PlannerNode[];
  /** The effective template of one worker entry (the template with the entry's override merged). */
  resolveTemplate: (spec: PlannerService["spec"], entry: WorkerEntryLike) => Record<string, unknown>;
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

/** Names of the Config objects a template mounts. */
export function mountedConfigs(template: Record<string, unknown>): string[] {
  const mounts = Array.isArray(template.mounts) ? template.mounts : [];
  const names: string[] = [];
  for (const mount of mounts) {
    const config = (mount as { config?: { name?: unknown } }).config;
    if (config && typeof config.name === "string") names.push(config.name);
  }
  return names;
}

export function planNode(input: PlannerInput, node: PlannerNode): NodePlan {
  const services: PlannedService[] = [];
  const configNames = new Set<string>();
  for (const service of [...input.services].sort((a, b) => a.name.localeCompare(b.name))) {
    const workers: PlannedService["workers"] = [];
    for (const entry of service.spec.workers) {
      if (!entryPlacesOn(entry, node)) continue;
      const template = input.resolveTemplate(service.spec, entry);
      for (const name of mountedConfigs(template)) configNames.add(name);
      for (let r = 0; r < (entry.replicas ?? 1); r++) workers.push({ index: workers.length, template });
    }
    if (workers.length === 0) continue;
    services.push({
      name: service.name,
      uid: service.uid,
      generation: service.generation,
      workers,
      ...(service.spec.mesh ? { mesh: service.spec.mesh } : {}),
      ...(service.spec.lostAfter ? { lostAfter: service.spec.lostAfter } : {}),
    });
  }
  const configs: NodePlan["configs"] = {};
  for (const config of input.configs) {
    if (configNames.has(config.name)) {
      configs[config.name] = { data: config.spec.data ?? {}, binaryData: config.spec.binaryData ?? {} };
    }
  }
  return { node: node.name, services, configs };
}

/** The plan of every known node. */
export function planAll(input: PlannerInput): Map<string, NodePlan> {
  return new Map(input.nodes.map((node) => [node.name, planNode(input, node)]));
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
