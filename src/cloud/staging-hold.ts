// Staged rollouts, decided by the cloud (pure): a Service with spec.rollout.staging keeps a node on
// the generation it runs while the node fetches what the new one needs. The planner computes the
// new plans as always; holdStaged() then rewrites, node by node, every staged service whose
// generation moved: the node keeps the service entry of its previous plan (the old workers keep
// running and serving) with the new generation's workers under `staged` (fetched, not run). It lets
// the new generation through
//   per-node   once this node reported it has everything of that generation;
//   all-nodes  once every node that must stage it did (the slowest node decides for all).
// A node that did not run the service before (a new service, a new placement) has nothing to keep
// serving and gets the new generation at once. The reports come from the nodes (staging-store.ts).
import type { NodePlan, PlannedService } from "../manifest/plan.ts";

export type StagingState = "fetching" | "ready" | "failed";

export interface StagingReport {
  node: string;
  service: string;
  generation: number;
  fetched: number;
  total: number;
  state: StagingState;
  message: string;
}

/** The latest report of a node about a service, if any. */
export type ReportOf = (node: string, service: string) => StagingReport | undefined;

/** What a node ran of a service before, if it must stage `next` (else undefined). */
function mustStage(previous: NodePlan | undefined, next: PlannedService): PlannedService | undefined {
  if (!next.staging) return undefined;
  const before = previous?.services.find((s) => s.name === next.name);
  if (!before || before.uid !== next.uid || before.generation === next.generation) return undefined;
  return before;
}

function hasStaged(report: StagingReport | undefined, generation: number): boolean {
  return report?.generation === generation && report.state === "ready";
}

/**
 * The plans with staged services held back where they may not switch yet. `previous`: each node's
 * stored plan before this planning (undefined: none).
 */
export function holdStaged(
  plans: ReadonlyMap<string, NodePlan>,
  previous: (node: string) => NodePlan | undefined,
  reportOf: ReportOf,
): Map<string, NodePlan> {
  // Per service (all-nodes): whether a node that must stage it has not yet.
  const notReady = new Set<string>();
  const holds: { node: string; next: PlannedService; before: PlannedService }[] = [];
  for (const [node, plan] of plans) {
    for (const next of plan.services) {
      const before = mustStage(previous(node), next);
      if (!before) continue;
      holds.push({ node, next, before });
      if (!hasStaged(reportOf(node, next.name), next.generation)) notReady.add(next.name);
    }
  }
  const out = new Map(plans);
  for (const { node, next, before } of holds) {
    const staged = hasStaged(reportOf(node, next.name), next.generation);
    const release = next.staging === "per-node" ? staged : !notReady.has(next.name);
    if (release) continue;
    const plan = out.get(node) as NodePlan;
    const { staged: _older, ...running } = before;
    const held: PlannedService = {
      ...running,
      staging: next.staging,
      staged: { generation: next.generation, workers: next.workers },
    };
    // The old workers' Configs stay in the plan (the new generation may mount others).
    const configFiles = { ...(previous(node)?.configFiles ?? {}), ...plan.configFiles };
    out.set(node, {
      ...plan,
      services: plan.services.map((s) => (s.name === next.name ? held : s)),
      configFiles,
    });
  }
  return out;
}
