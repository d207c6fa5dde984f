// The re-plan: every node's plan (or one node's) computed again from the stored resources and written,
// inside the caller's transaction. It gathers what the planner needs (services, configs and secrets,
// nodes with their cordon/drain state, restart counts, images), refuses what an apply would put beyond
// a node's limits or the mesh catalog's size, holds staged generations back (staging-hold.ts) and
// keeps what cannot be placed pending (unplaced-store.ts). Apart from control-plane.ts, which owns the
// transactions and the events around it: this is the computation every write path shares.
import type { Database } from "bun:sqlite";
import type { NodePlan } from "../manifest/plan.ts";
import { secretFiles, secretPlanKey } from "../manifest/secret.ts";
import { type Mesh, resolveWorkerTemplate } from "../manifest/service.ts";
import type { Logger } from "../runtime/log.ts";
import type { Store } from "../store/store.ts";
import { rejected } from "./api-error.ts";
import type { ApplyResult, PendingEvent } from "./apply-result.ts";
import { drainPlacement } from "./drain-placement.ts";
import { imageLookup } from "./image-store.ts";
import { qualifyServiceSpec } from "./namespaced-spec.ts";
import { nodesForPlanning } from "./node-registry.ts";
import {
  catalogTooLarge,
  type NodeLimits,
  oversizedHoldMessage,
  oversizedHolds,
  refusedPlacements,
} from "./plan-limits.ts";
import { type PlanChange, placedServices, writePlans } from "./plan-writer.ts";
import { type PlannerService, planAll, type Unplaced } from "./planner.ts";
import { listObjects, secretSpecs, storedKey, storedSpec } from "./resource-store.ts";
import { holdStaged } from "./staging-hold.ts";
import { reportReader, storedPlanReader } from "./staging-store.ts";
import { replaceUnplaced } from "./unplaced-store.ts";
import { forgetRestarts, restartCounts } from "./worker-restarts.ts";

/** What a re-plan works with: the store, where it logs, the per-node limits. */
export interface ReplanSetup {
  store: Store;
  log: Logger;
  limits: NodeLimits;
}

export interface Replanned {
  /** The nodes whose plan changed. */
  changes: PlanChange[];
  /** A draining node still runs selector workers until others are ready (drain-placement.ts). */
  drainPending: boolean;
}

/**
 * Plans every node (or only one) from the stored resources; call inside a transaction. After an
 * apply or a delete (`applied`: what it stored), a placement the limits refuse throws
 * an ApiError (409), and so does a mesh catalog too large for a sync message; otherwise what does not
 * fit is left pending, with an event. `previous` collects the changed nodes' plans before; a dry
 * run (`dryRun`) logs nothing. Plans and writes only: the events are the caller's to record.
 */
export function replanInTx(
  setup: ReplanSetup,
  pending: PendingEvent[],
  only?: string,
  applied?: readonly ApplyResult[],
  previous?: Map<string, NodePlan | undefined>,
  dryRun = false,
): Replanned {
  const { store, log, limits } = setup;
  const db = store.db;
  forgetRestarts(db);
  // Known by key; a service's Config and Secret mounts and upstreams name objects of its own
  // namespace. A Secret's values are planned like a Config's files (by reference).
  const services = plannerServices(db);
  const configs = [
    ...listObjects(db, "Config").map((o) => ({ name: storedKey(o), spec: storedSpec(o) })),
    ...[...secretSpecs(db)].map(([key, spec]) => ({ name: secretPlanKey(key), spec: secretFiles(spec) })),
  ];
  const before = placedServices(db, only);
  const nodes = nodesForPlanning(store, only);
  const limited = nodes.some((n) => n.scheduling !== "enabled");
  const drain = drainPlacement(db, services, limited && only ? nodesForPlanning(store) : nodes);
  const planned = planAll({
    services,
    configs,
    nodes: nodes.map((n) => ({ ...n, unschedulable: n.scheduling !== "enabled" })),
    selectorBudget: drain.selectorBudget,
    resolveTemplate: (spec, entry) =>
      resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
    limits: limits,
    placedBefore: (node) => before.get(node) ?? new Set(),
    restartOf: restartCounts(db, only),
    images: imageLookup(db),
  });
  const unplaced: Unplaced[] = [...planned.values()].flatMap((p) => p.unplaced);
  if (applied) {
    const refused = refusedPlacements(unplaced, before, applied);
    if (refused.length > 0)
      throw rejected(409, [refused[0] as (typeof refused)[number], ...refused.slice(1)]);
  }
  // Staged services stay on the generation a node runs until it may switch (staging-hold.ts).
  const unheld = new Map([...planned].map(([node, p]) => [node, p.plan]));
  const plans = holdStaged(unheld, storedPlanReader(db), reportReader(db));
  // A hold that makes a plan too large for one message: an apply is refused; a re-plan (which
  // cannot be refused) lets that node switch at once, unstaged, rather than send nothing.
  for (const over of oversizedHolds(plans, unheld, limits)) {
    const message = oversizedHoldMessage(over);
    if (applied) {
      throw rejected(409, [
        { kind: "Service", name: over.services[0] ?? "", path: "spec.rollout.staging", message },
      ]);
    }
    if (!dryRun) log.warn("staging skipped on a node", { node: over.node, reason: message });
    plans.set(over.node, unheld.get(over.node) as NodePlan);
  }
  const changes = writePlans(db, plans, previous);
  // An apply or a delete re-plans every node (`only` undefined): `plans` are all the plans.
  if (applied) {
    const meshOf = services.map((s) => ({ name: s.name, mesh: s.spec.mesh as Partial<Mesh> | undefined }));
    const catalog = catalogTooLarge(store, meshOf, plans);
    if (catalog) {
      const first = applied[0];
      throw rejected(409, [
        {
          kind: first?.kind ?? "",
          name: first?.name ?? "",
          path: "",
          message: catalog,
        },
      ]);
    }
  }
  for (const u of replaceUnplaced(db, unplaced, only)) {
    if (!dryRun) log.warn("workers not placed", { ...u });
    pending.push({ kind: "Service", name: u.service, reason: "NotPlaced", message: u.reason });
  }
  return { changes, drainPending: drain.pending };
}

/** The stored Services as the planner reads them (by key, names qualified by namespace). */
export function plannerServices(db: Database): PlannerService[] {
  return listObjects(db, "Service").map((o) => ({
    name: storedKey(o),
    uid: o.metadata.uid,
    generation: o.metadata.generation,
    spec: qualifyServiceSpec(storedSpec(o), o.metadata.namespace) as unknown as PlannerService["spec"],
  }));
}
