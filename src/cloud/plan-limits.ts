// What keeps every plan deliverable and every node bounded: the limits the planner places
// within (services and workers per node, the body one plan message can carry), the rule that
// decides which of the planner's left-out services make an apply fail, and the size check of the
// mesh catalog (shipped whole to every node in one message), and the size of a plan that holds a
// staged service back (it carries the old generation and the new one's workers). An apply that would cross a limit is
// refused with the node, the size and the limit; a re-plan without an apply (a node joined or was
// lost, labels changed) cannot be refused, so what does not fit stays pending instead.
import { canonicalJson } from "../manifest/canonical.ts";
import {
  DEFAULT_MAX_SERVICES_PER_NODE,
  DEFAULT_MAX_WORKERS_PER_NODE,
  type NodePlan,
} from "../manifest/plan.ts";
import { MAX_MESSAGE_BYTES, planBodyLimit } from "../protocol/messages.ts";
import type { Store } from "../store/store.ts";
import { readCatalogNodes } from "./catalog/catalog-publisher.ts";
import { type CatalogInputService, deriveCatalog } from "./catalog/derive.ts";
import type { PlanLimits, Unplaced } from "./planner.ts";

export type NodeLimits = PlanLimits;

export function planLimits(
  options: { servicesPerNode?: number | undefined; workersPerNode?: number | undefined } = {},
): NodeLimits {
  return {
    servicesPerNode: options.servicesPerNode ?? DEFAULT_MAX_SERVICES_PER_NODE,
    workersPerNode: options.workersPerNode ?? DEFAULT_MAX_WORKERS_PER_NODE,
    planBytes: planBodyLimit,
  };
}

export interface PlacementIssue {
  kind: string;
  name: string;
  path: string;
  message: string;
}

/**
 * The left-out services an apply is refused for: those it created or changed, and those a node
 * ran before it (the apply would push them out). A service left out before and not touched by the
 * apply (a re-apply of unchanged manifests) stays pending without failing it.
 */
export function refusedPlacements(
  unplaced: readonly Unplaced[],
  before: ReadonlyMap<string, ReadonlySet<string>>,
  applied: readonly { kind: string; name: string; outcome: string }[],
): PlacementIssue[] {
  const changed = new Set(
    applied
      .filter((r) => r.kind === "Service" && (r.outcome === "created" || r.outcome === "configured"))
      .map((r) => r.name),
  );
  const issues: PlacementIssue[] = [];
  for (const u of unplaced) {
    const workers = `${u.workers} worker${u.workers === 1 ? "" : "s"}`;
    if (changed.has(u.service)) {
      issues.push({
        kind: "Service",
        name: u.service,
        path: "spec.workers",
        message: `cannot place the service's ${workers} on node ${u.node}: ${u.reason}`,
      });
    } else if (before.get(u.node)?.has(u.service)) {
      issues.push({
        kind: "Service",
        name: u.service,
        path: "",
        message: `this apply would push the service's ${workers} off node ${u.node}: ${u.reason}`,
      });
    }
  }
  return issues;
}

/**
 * Why the mesh catalog the stored nodes and an apply's services and plans make would not fit in
 * one sync message, or undefined when it does. The plans are the re-plan's own, of every node (no
 * need to read them back); readiness is not read: the catalog is counted with the widest revision
 * and epoch, and every worker not ready (the longest way to say it), so readiness changes cannot
 * push an accepted catalog over the limit.
 */
export function catalogTooLarge(
  store: Store,
  services: readonly CatalogInputService[],
  plans: ReadonlyMap<string, NodePlan>,
): string | undefined {
  // Every worker not ready: `false` is the longer word.
  const workers = [...plans].flatMap(([node, plan]) =>
    plan.services.flatMap((s) =>
      s.workers.map((w) => ({ service: s.name, node, index: w.index, ready: false })),
    ),
  );
  const content = deriveCatalog({ nodes: readCatalogNodes(store), services: [...services], workers });
  const widest = { ...content, revision: Number.MAX_SAFE_INTEGER, epoch: "x".repeat(128) };
  const size = Buffer.byteLength(JSON.stringify(widest), "utf8");
  if (size <= MAX_MESSAGE_BYTES) return undefined;
  return (
    `the mesh catalog (shipped whole to every node) would be ${size} bytes, more than the ` +
    `${MAX_MESSAGE_BYTES} one sync message can carry (${content.services.length} mesh services, ` +
    `${content.nodes.length} nodes): fewer mesh services or workers`
  );
}

export interface OversizedHold {
  node: string;
  /** The held plan's canonical JSON, bytes. */
  bytes: number;
  budget: number;
  /** The staged services the node's plan holds back. */
  services: string[];
}

/**
 * The nodes whose plan, as holdStaged() rewrote it (`held`), no longer fits the body one plan
 * message can carry although the plan without the hold (`planned`, which the planner fitted) did:
 * a held service carries its old generation and the new one's workers, so staging can double it.
 */
export function oversizedHolds(
  held: ReadonlyMap<string, NodePlan>,
  planned: ReadonlyMap<string, NodePlan>,
  limits: Pick<NodeLimits, "planBytes">,
): OversizedHold[] {
  const out: OversizedHold[] = [];
  for (const [node, plan] of held) {
    if (plan === planned.get(node)) continue;
    const bytes = Buffer.byteLength(canonicalJson(plan), "utf8");
    const budget = limits.planBytes(node);
    if (bytes <= budget) continue;
    const services = plan.services.filter((s) => s.staged !== undefined).map((s) => s.name);
    out.push({ node, bytes, budget, services });
  }
  return out;
}

/** Why an oversized hold is refused (an apply) or skipped (a re-plan): one line. */
export function oversizedHoldMessage(o: OversizedHold): string {
  return (
    `staging ${o.services.join(", ")} on node ${o.node} would make its plan ${o.bytes} bytes (the old ` +
    `generation and the new one's workers), more than the ${o.budget} one sync message can carry`
  );
}
