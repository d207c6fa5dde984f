// The control plane's write path: apply and delete resources, then re-plan every node, all in one
// transaction (a bad object or a conflict leaves nothing stored). After the commit, the nodes whose
// plan changed are handed to `onPlansChanged` (the sync link publishes them) and events are emitted.
// Dayu objects (JointMultiEdgeService, RuntimeService) are expanded into the Services they stand
// for, owned by them, in the same transaction (src/cloud/dayu/expand.ts). Every plan stays
// deliverable: what an apply would put beyond a node's limits is refused (plan-limits.ts), what a
// re-plan without an apply cannot place stays pending (unplaced-store.ts). A worker restart is
// desired state too: a count in that worker's plan entry (worker-restarts.ts).
// A dry run (applyPlan with dryRun) is the same apply in the same transaction, rolled back at the
// end: what it answers (outcomes, spec changes, each node's worker changes, refusals) is what the
// apply would do, and nothing of it is stored. Each new generation of a Service or Dayu object is
// kept (history-store.ts) for `rollout undo`. Cordon and drain (setScheduling) limit the
// nodeSelector workers a node gets (drain-placement.ts). A staged Service's new generation is held
// back on each node until the nodes' staging reports let it through (staging-hold.ts); a node's
// download cap (setBandwidth) goes to it in its plan. The re-plan itself is replan.ts.
import type { Database } from "bun:sqlite";
import { EventEmitter } from "node:events";
import { specOf } from "../manifest/kinds.ts";
import { DEFAULT_NAMESPACE, describeKey, keyOf, objectKey, refOf } from "../manifest/namespace.ts";
import type { NodePlan } from "../manifest/plan.ts";
import type { Logger } from "../runtime/log.ts";
import type { Store } from "../store/store.ts";
import { rejected } from "./api-error.ts";
import { DryRunDone, nodeChanges, objectChanges } from "./apply-changes.ts";
import type { ApplyPlan, ApplyResult, LeveeEvent, ManifestObject, PendingEvent } from "./apply-result.ts";
import { expandDayu, releaseOwned } from "./dayu/expand.ts";
import { describeRef, type ObjectRef, ownerOf } from "./dayu/owners.ts";
import { type DrainItem, type Scheduling, schedulingEvent } from "./drain.ts";
import { drainPlacement } from "./drain-placement.ts";
import { DEFAULT_HISTORY_LIMIT, recordGeneration } from "./history-store.ts";
import { createMissingNamespaces } from "./namespace-apply.ts";
import { applyNodeLabels } from "./node-apply.ts";
import { nodesForPlanning, setNodeBandwidth, setNodeScheduling } from "./node-registry.ts";
import { type NodeLimits, planLimits } from "./plan-limits.ts";
import { type PlanChange, placedServices } from "./plan-writer.ts";
import { plannerServices, replanInTx } from "./replan.ts";
import {
  deleteObject,
  getObject,
  listObjects,
  recordEvent,
  type StoredObject,
  upsertObject,
} from "./resource-store.ts";
import { bumpRestart, plannedWorker, requireNothingDisplaced } from "./worker-restarts.ts";

export type { ApplyPlan, ApplyResult, LeveeEvent, ManifestObject } from "./apply-result.ts";

export class ControlPlane {
  readonly events = new EventEmitter();
  /** A draining node still runs selector workers until others are ready: re-plan on status reports. */
  drainPending = false;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly onPlansChanged: (changes: PlanChange[]) => void,
    private readonly limits: NodeLimits = planLimits(),
    /** How many generations of each Service and Dayu object are kept (history-store.ts). */
    private readonly historyLimit = DEFAULT_HISTORY_LIMIT,
  ) {
    this.events.setMaxListeners(0);
  }

  apply(objects: ManifestObject[]): ApplyResult[] {
    return this.applyPlan(objects).results;
  }

  /**
   * Applies the objects, or with `dryRun` says what applying them would do and stores nothing:
   * the same code in the same transaction, rolled back (a refusal is the apply's refusal).
   */
  applyPlan(objects: ManifestObject[], options: { dryRun?: boolean } = {}): ApplyPlan {
    const dryRun = options.dryRun === true;
    const pending: PendingEvent[] = [];
    let done: { plan: ApplyPlan; changes: PlanChange[]; recorded: LeveeEvent[] };
    try {
      done = this.store.tx((db) => {
        const results = this.applyInTx(db, objects, pending, false, dryRun);
        const previous = new Map<string, NodePlan | undefined>();
        const changes = this.replanInTx(pending, undefined, results, previous, dryRun);
        const nodes = nodeChanges(db, changes, previous);
        if (dryRun) throw new DryRunDone<ApplyPlan>({ results, nodes });
        return { plan: { results, nodes }, changes, recorded: pending.map((e) => this.record(e)) };
      });
    } catch (err) {
      if (err instanceof DryRunDone) return err.answer as ApplyPlan;
      throw err;
    }
    this.afterCommit(done.recorded, done.changes);
    return done.plan;
  }

  /** The objects (Dayu ones expanded), then what their owners no longer make removed. */
  private applyInTx(
    db: Database,
    objects: readonly ManifestObject[],
    pending: PendingEvent[],
    retranslateAll: boolean,
    withChanges = false,
  ): ApplyResult[] {
    const expansion = expandDayu(db, objects, retranslateAll);
    const results: ApplyResult[] = createMissingNamespaces(db, objects, pending);
    for (const item of expansion.items) {
      const result = this.applyOne(db, item.object, item.labels, pending, withChanges);
      if (item.owner) result.owner = refOf(item.owner.kind, item.owner.name);
      if (item.warnings && item.warnings.length > 0) result.warnings = item.warnings;
      results.push(result);
    }
    for (const gone of expansion.removed) {
      if (!deleteObject(db, gone.kind, gone.name)) continue;
      results.push({
        ...refOf(gone.kind, gone.name),
        outcome: "deleted",
        owner: refOf(gone.owner.kind, gone.owner.name),
      });
      pending.push({ ...gone, reason: "Deleted", message: `no longer made from ${describeRef(gone.owner)}` });
    }
    expansion.commit();
    return results;
  }

  private applyOne(
    db: Database,
    object: ManifestObject,
    labels: Record<string, string>,
    pending: PendingEvent[],
    withChanges: boolean,
  ): ApplyResult {
    const { kind } = object;
    const { resourceVersion } = object.metadata;
    // The store key: the name, qualified by the namespace outside `default`.
    const name = keyOf(object);
    if (kind === "Node") {
      const { outcome, changes } = applyNodeLabels(this.store, name, labels, withChanges);
      if (outcome === "configured")
        pending.push({ kind, name, reason: "Labeled", message: `labels set to ${JSON.stringify(labels)}` });
      return { kind, name, outcome, ...(changes ? { changes } : {}) };
    }
    if (resourceVersion !== undefined) {
      const current = getObject(db, kind, name);
      if (!current || current.metadata.resourceVersion !== resourceVersion) {
        throw rejected(409, [
          {
            kind,
            name,
            path: "metadata.resourceVersion",
            message: `${kind} ${describeKey(name)} has changed since resourceVersion ${resourceVersion} (now ${current?.metadata.resourceVersion ?? "deleted"}); get it again and re-apply`,
          },
        ]);
      }
    }
    const spec = specOf(object);
    const before = getObject(db, kind, name);
    const { outcome, object: stored } = upsertObject(db, kind, name, labels, spec);
    const { generation } = stored.metadata;
    if (outcome !== "unchanged") {
      pending.push({
        kind,
        name,
        reason: outcome === "created" ? "Created" : "Configured",
        message: `generation ${generation}`,
      });
    }
    if (outcome === "created" || generation !== before?.metadata.generation)
      recordGeneration(db, { kind, name }, generation, spec, this.historyLimit);
    const result: ApplyResult = { ...refOf(kind, name), outcome, generation };
    if (withChanges && outcome !== "unchanged") result.changes = objectChanges(kind, before, labels, spec);
    return result;
  }

  /**
   * Deletes an object (by key) and what it owns (a Dayu object's Service); a Namespace with every
   * object in it; undefined when it did not exist. An owned object cannot be deleted on its own (a
   * 409 ApiError: delete its owner). Deleting an ImageMap translates the Dayu objects again.
   */
  delete(kind: string, name: string): ObjectRef[] | undefined {
    const { deleted, changes, recorded } = this.store.tx((db) => {
      const owner = ownerOf(db, { kind, name });
      if (owner) {
        throw rejected(409, [
          {
            kind,
            name,
            path: "",
            message: `${kind} ${describeKey(name)} is made from ${describeRef(owner)}: delete or change that instead`,
          },
        ]);
      }
      const pending: PendingEvent[] = [];
      const deleted: ObjectRef[] = [];
      if (kind === "Namespace") {
        if (name === DEFAULT_NAMESPACE)
          throw rejected(409, [{ kind, name, path: "", message: "the namespace default cannot be deleted" }]);
        // Its objects first: owners before what they made (which goes with them).
        const inside = db
          .query<ObjectRef, [string]>(
            "SELECT kind, name FROM resources WHERE namespace = ? ORDER BY kind IN ('JointMultiEdgeService', 'RuntimeService') DESC, kind, name",
          )
          .all(name);
        for (const object of inside) this.deleteInTx(db, object, pending, deleted);
      }
      const at = deleted.length;
      if (this.deleteInTx(db, { kind, name }, pending, deleted)) {
        // The object asked for first, then what went with it.
        deleted.unshift(...deleted.splice(at, 1));
      } else if (deleted.length === 0) return { deleted: undefined, changes: [], recorded: [] };
      const results = kind === "ImageMap" ? this.applyInTx(db, [], pending, true) : [];
      const changes = this.replanInTx(pending, undefined, results);
      return { deleted, changes, recorded: pending.map((e) => this.record(e)) };
    });
    this.afterCommit(recorded, changes);
    return deleted;
  }

  /** Deletes one object and what it made; false when it was not there (or is made by another). */
  private deleteInTx(db: Database, ref: ObjectRef, pending: PendingEvent[], deleted: ObjectRef[]): boolean {
    if (ownerOf(db, ref)) return false; // deleted with its owner
    if (!deleteObject(db, ref.kind, ref.name)) return false;
    pending.push({ ...ref, reason: "Deleted", message: "" });
    deleted.push(ref);
    for (const owned of releaseOwned(db, ref)) {
      if (!deleteObject(db, owned.kind, owned.name)) continue;
      deleted.push(owned);
      pending.push({ ...owned, reason: "Deleted", message: `with ${describeRef(ref)}` });
    }
    return true;
  }

  /**
   * Re-plans after a change outside apply (a node's phase changed, a node was deleted); with
   * `only`, just that node (it joined: no other node's plan can change).
   */
  replan(reason: string, only?: string): PlanChange[] {
    const pending: PendingEvent[] = [];
    const { changes, recorded } = this.store.tx(() => {
      const changes = this.replanInTx(pending, only);
      return { changes, recorded: pending.map((e) => this.record(e)) };
    });
    if (changes.length > 0) this.log.info("re-planned", { reason, nodes: changes.map((c) => c.node) });
    this.afterCommit(recorded, changes);
    return changes;
  }

  /**
   * Restarts one worker (service by key) as desired state: when the node's current plan has it,
   * its restart count grows and the node is re-planned (its plan now carries the count, delivered
   * by the sync whenever the node is connected), with a Restarted event; all in one transaction.
   */
  restartWorker(service: string, node: string, index: number): "restarted" | "not-found" {
    const pending: PendingEvent[] = [];
    const done = this.store.tx((db) => {
      if (!plannedWorker(db, service, node, index).found) return undefined;
      const before = placedServices(db, node).get(node) ?? new Set<string>();
      const count = bumpRestart(db, service, node, index);
      const changes = this.replanInTx(pending, node);
      requireNothingDisplaced(db, node, before, { service, index });
      pending.push({
        kind: "Service",
        name: service,
        reason: "Restarted",
        message: `worker ${index} on node ${node} (restart ${count})`,
      });
      return { changes, recorded: pending.map((e) => this.record(e)) };
    });
    if (!done) return "not-found";
    this.log.info("worker restart requested", { service, node, index });
    this.afterCommit(done.recorded, done.changes);
    return "restarted";
  }

  /**
   * Cordons (no new nodeSelector workers), uncordons or drains a node and re-plans every node, with
   * an event; for a drain, what happens to each of its services (drain.ts). Undefined: no such node.
   */
  setScheduling(node: string, scheduling: Scheduling): { changed: boolean; items: DrainItem[] } | undefined {
    const pending: PendingEvent[] = [];
    const done = this.store.tx((db) => {
      const outcome = setNodeScheduling(this.store, node, scheduling);
      if (outcome === "missing") return undefined;
      const items =
        scheduling === "draining"
          ? drainPlacement(db, plannerServices(db), nodesForPlanning(this.store)).report(node)
          : [];
      if (outcome === "changed" || scheduling === "draining")
        pending.push({ kind: "Node", name: node, ...schedulingEvent(scheduling, items) });
      const changes = this.replanInTx(pending);
      return { changed: outcome === "changed", items, changes, recorded: pending.map((e) => this.record(e)) };
    });
    if (!done) return undefined;
    this.log.info("node scheduling set", { node, scheduling });
    this.afterCommit(done.recorded, done.changes);
    return { changed: done.changed, items: done.items };
  }

  /** Sets the cap on a node's downloads (bytes/s; null: none), sent in its plan; undefined: no such node. */
  setBandwidth(node: string, bytesPerSecond: number | null): { changed: boolean } | undefined {
    const pending: PendingEvent[] = [];
    const done = this.store.tx(() => {
      const outcome = setNodeBandwidth(this.store, node, bytesPerSecond);
      if (outcome === "missing") return undefined;
      const message = bytesPerSecond === null ? "no cap" : `${bytesPerSecond} bytes/s`;
      if (outcome === "changed") pending.push({ kind: "Node", name: node, reason: "BandwidthSet", message });
      const changes = this.replanInTx(pending, node);
      return { changed: outcome === "changed", changes, recorded: pending.map((e) => this.record(e)) };
    });
    if (!done) return undefined;
    this.afterCommit(done.recorded, done.changes);
    return { changed: done.changed };
  }

  /**
   * Stores and emits events about things outside apply (e.g. node phase changes), all in one
   * transaction: a reconnect storm's events cost one commit, not one each.
   */
  recordEvents(events: readonly PendingEvent[]): LeveeEvent[] {
    if (events.length === 0) return [];
    const recorded = this.store.tx(() => events.map((e) => this.record(e)));
    for (const event of recorded) this.events.emit("event", event);
    return recorded;
  }

  /** An object by kind, namespace and name. */
  get(kind: string, name: string, namespace?: string): StoredObject | undefined {
    return getObject(this.store.db, kind, objectKey(kind, namespace, name));
  }

  list(kind: string, filter?: { namespace?: string; labels?: Record<string, string> }): StoredObject[] {
    return listObjects(this.store.db, kind, filter);
  }

  /** replanInTx (replan.ts) with this control plane's setup; a full re-plan updates drainPending. */
  private replanInTx(
    pending: PendingEvent[],
    only?: string,
    applied?: readonly ApplyResult[],
    previous?: Map<string, NodePlan | undefined>,
    dryRun = false,
  ): PlanChange[] {
    const setup = { store: this.store, log: this.log, limits: this.limits };
    const { changes, drainPending } = replanInTx(setup, pending, only, applied, previous, dryRun);
    if (only === undefined) this.drainPending = drainPending;
    return changes;
  }

  /** Stores an event; call inside the transaction that made it happen. */
  private record(e: PendingEvent): LeveeEvent {
    const ts = new Date().toISOString();
    return { ...e, ts, id: recordEvent(this.store.db, e.kind, e.name, e.reason, e.message) };
  }

  private afterCommit(recorded: LeveeEvent[], changes: PlanChange[]): void {
    for (const event of recorded) this.events.emit("event", event);
    if (changes.length > 0) this.onPlansChanged(changes);
  }
}
