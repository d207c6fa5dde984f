// What the planner needs to know about cordoned and draining nodes, read from the store inside the
// re-plan's transaction: each such node's current plan (how many workers of each service it runs),
// and how many workers each node reports ready; the decisions themselves are drain.ts's.
import type { Database } from "bun:sqlite";
import type { NodePlan } from "../manifest/plan.ts";
import { type DrainItem, type HandOver, handOver, type Scheduling, selectorBudget } from "./drain.ts";
import { type PlannerService, selectorMatches } from "./planner.ts";

export interface SchedulingNode {
  name: string;
  labels: Record<string, string>;
  phase: string;
  scheduling: Scheduling;
}

export interface DrainPlacement {
  /** The selector workers a cordoned or draining node may run of a service. */
  selectorBudget(service: string, node: string): number;
  /** What a drain of the node does to each of its services (pinned workers, hand-overs). */
  report(node: string): DrainItem[];
  /** Whether a draining node still runs selector workers waiting for their hand-over. */
  pending: boolean;
}

/** Workers of each service in each node's stored plan: node → service → count. */
function placedCounts(db: Database, nodes: readonly string[]): Map<string, Map<string, number>> {
  const select = db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?");
  const out = new Map<string, Map<string, number>>();
  for (const node of nodes) {
    const row = select.get(node);
    const plan = row ? (JSON.parse(row.plan) as NodePlan) : undefined;
    out.set(node, new Map((plan?.services ?? []).map((s) => [s.name, s.workers.length])));
  }
  return out;
}

/** Ready workers of each (service, node) at the service's current generation. */
function readyCounts(db: Database, services: readonly PlannerService[]): Map<string, number> {
  const generation = new Map(services.map((s) => [s.name, s.generation]));
  const out = new Map<string, number>();
  const rows = db
    .query<{ service: string; node: string; generation: number | null }, []>(
      "SELECT service, node, generation FROM worker_status WHERE ready = 1",
    )
    .all();
  for (const row of rows) {
    const current = generation.get(row.service);
    if (current === undefined || (row.generation !== null && row.generation < current)) continue;
    const key = `${row.service}\u0000${row.node}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export function drainPlacement(
  db: Database,
  services: readonly PlannerService[],
  nodes: readonly SchedulingNode[],
): DrainPlacement {
  const limited = nodes.filter((n) => n.scheduling !== "enabled");
  if (limited.length === 0) return { selectorBudget: () => 0, report: () => [], pending: false };
  const placed = placedCounts(
    db,
    limited.map((n) => n.name),
  );
  const ready = readyCounts(db, services);
  const byName = new Map(services.map((s) => [s.name, s]));
  const pinnedOn = (service: PlannerService, node: string) =>
    sum(service.spec.workers.filter((e) => e.node === node).map((e) => e.replicas ?? 1));
  const selectorOn = (service: PlannerService, node: SchedulingNode) =>
    sum(
      service.spec.workers
        .filter((e) => e.node === undefined && e.nodeSelector && selectorMatches(e.nodeSelector, node.labels))
        .map((e) => e.replicas ?? 1),
    );
  const handOverOf = (service: PlannerService, node: string): HandOver =>
    handOver(
      nodes
        .filter((n) => n.name !== node && n.scheduling === "enabled" && n.phase !== "Lost")
        .map((n) => ({
          node: n.name,
          phase: n.phase,
          expected: selectorOn(service, n),
          ready: ready.get(`${service.name}\u0000${n.name}`) ?? 0,
        })),
    );
  const schedulingOf = new Map(limited.map((n) => [n.name, n.scheduling]));
  const before = (service: string, node: string) => placed.get(node)?.get(service) ?? 0;
  const budget = (service: string, node: string): number => {
    const scheduling = schedulingOf.get(node) ?? "enabled";
    const spec = byName.get(service);
    if (!spec) return 0;
    const pinned = pinnedOn(spec, node);
    const kept = selectorBudget(scheduling, before(service, node), pinned, false);
    if (scheduling !== "draining" || kept === 0) return kept;
    return handOverOf(spec, node).state === "moved" ? 0 : kept;
  };
  const report = (node: string): DrainItem[] => {
    const items: DrainItem[] = [];
    for (const service of services) {
      const pinned = pinnedOn(service, node);
      if (pinned > 0) items.push({ service: service.name, workers: pinned, state: "pinned" });
      const selector = Math.max(0, before(service.name, node) - pinned);
      if (selector === 0) continue;
      const decision = handOverOf(service, node);
      items.push({ service: service.name, workers: selector, ...decision });
    }
    return items;
  };
  const pending = limited.some(
    (n) => n.scheduling === "draining" && services.some((s) => budget(s.name, n.name) > 0),
  );
  return { selectorBudget: budget, report, pending };
}
