// What a node will do with its new plan, worker by worker: added, replaced (stopped and started
// with the new spec, or restarted on request), updated in place (mounted files rewritten, the
// worker signalled or not) or stopped. Decided with the node's own reading of a plan
// (src/node/workers/desired.ts: the same spec and files hashes the supervisor compares), so what
// an apply or a dry run says a node does is what the node does. Pure.
import type { NodePlan } from "../manifest/plan.ts";
import { type DesiredWorker, desiredWorkers } from "../node/workers/desired.ts";

export type WorkerChangeKind = "added" | "replaced" | "updated" | "stopped";

export interface WorkerChange {
  service: string;
  index: number;
  change: WorkerChangeKind;
  /** The generation of the service the worker runs after the change (absent when stopped). */
  generation?: number;
}

export interface NodeChange {
  node: string;
  /** The node's plan revision after the change. */
  revision: number;
  /** Only the workers that change; a new revision may change none (e.g. a mesh port). */
  workers: WorkerChange[];
}

/** The worker changes from `before` (undefined: the node had no plan) to `after`. */
export function workerChanges(before: NodePlan | undefined, after: NodePlan): WorkerChange[] {
  const old = new Map(before ? desiredWorkers(before).workers.map((w) => [w.key, w]) : []);
  const out: WorkerChange[] = [];
  for (const worker of desiredWorkers(after).workers) {
    const was = old.get(worker.key);
    old.delete(worker.key);
    const change = was ? changeOf(was, worker) : "added";
    if (change)
      out.push({ service: worker.service, index: worker.index, change, generation: worker.generation });
  }
  for (const gone of old.values()) out.push({ service: gone.service, index: gone.index, change: "stopped" });
  return out.sort((a, b) => a.service.localeCompare(b.service) || a.index - b.index);
}

/** What the supervisor does when a worker's desired state goes from `was` to `now`. */
function changeOf(was: DesiredWorker, now: DesiredWorker): WorkerChangeKind | undefined {
  if (was.specHash !== now.specHash || was.restartRequest !== now.restartRequest) return "replaced";
  if (was.filesHash !== now.filesHash) return "updated";
  return undefined;
}
