// The control plane's write path: apply and delete resources, then re-plan every node, all in one
// transaction (a bad object or a conflict leaves nothing stored). After the commit, the nodes whose
// plan changed are handed to `onPlansChanged` (the sync link publishes them) and events are emitted.
// Dayu objects (JointMultiEdgeService, RuntimeService) are expanded into the Services they stand
// for, owned by them, in the same transaction (src/cloud/dayu/expand.ts). Every plan stays
// deliverable: what an apply would put beyond a node's limits is refused (plan-limits.ts), what a
// re-plan without an apply cannot place stays pending (unplaced-store.ts).
import type { Database } from "bun:sqlite";
import { EventEmitter } from "node:events";
import type { Warning } from "../manifest/dayu/warnings.ts";
import { type Resource, specOf } from "../manifest/kinds.ts";
import { type Mesh, resolveWorkerTemplate } from "../manifest/service.ts";
import type { Logger } from "../runtime/log.ts";
import type { Store } from "../store/store.ts";
import { rejected } from "./api-error.ts";
import { expandDayu, releaseOwned } from "./dayu/expand.ts";
import { describeRef, type ObjectRef, ownerOf } from "./dayu/owners.ts";
import { systemLabelConflicts } from "./node-labels.ts";
import { nodeRole, nodesForPlanning, setNodeLabels } from "./node-registry.ts";
import { catalogTooLarge, type NodeLimits, planLimits, refusedPlacements } from "./plan-limits.ts";
import type { PlanChange } from "./plan-writer.ts";
import { placedServices, writePlans } from "./plan-writer.ts";
import { type PlannerService, planAll, type Unplaced } from "./planner.ts";
import {
  type ApplyOutcome,
  deleteObject,
  getObject,
  listObjects,
  recordEvent,
  type StoredObject,
  storedSpec,
  upsertObject,
} from "./resource-store.ts";
import { replaceUnplaced } from "./unplaced-store.ts";

/** An object as parsed from a manifest (validated by src/manifest). */
export type ManifestObject = Resource;

export interface ApplyResult {
  kind: string;
  name: string;
  /** "deleted": an object its owner (a Dayu object in this request) no longer makes. */
  outcome: ApplyOutcome | "deleted";
  generation?: number;
  /** The Dayu object it was made from. */
  owner?: ObjectRef;
  /** What the translation of a Dayu object does not honour (paths in the object). */
  warnings?: Warning[];
}

export interface LeveeEvent {
  id: number;
  ts: string;
  kind: string;
  name: string;
  reason: string;
  message: string;
}

type PendingEvent = Omit<LeveeEvent, "id" | "ts">;

export class ControlPlane {
  readonly events = new EventEmitter();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly onPlansChanged: (changes: PlanChange[]) => void,
    private readonly limits: NodeLimits = planLimits(),
  ) {
    this.events.setMaxListeners(0);
  }

  apply(objects: ManifestObject[]): ApplyResult[] {
    const pending: PendingEvent[] = [];
    const { results, changes, recorded } = this.store.tx((db) => {
      const results = this.applyInTx(db, objects, pending, false);
      const changes = this.replanInTx(pending, undefined, results);
      return { results, changes, recorded: pending.map((e) => this.record(e)) };
    });
    this.afterCommit(recorded, changes);
    return results;
  }

  /** The objects (Dayu ones expanded), then what their owners no longer make removed. */
  private applyInTx(
    db: Database,
    objects: readonly ManifestObject[],
    pending: PendingEvent[],
    retranslateAll: boolean,
  ): ApplyResult[] {
    const expansion = expandDayu(db, objects, retranslateAll);
    const results: ApplyResult[] = [];
    for (const item of expansion.items) {
      const result = this.applyOne(db, item.object, item.labels, pending);
      if (item.owner) result.owner = item.owner;
      if (item.warnings && item.warnings.length > 0) result.warnings = item.warnings;
      results.push(result);
    }
    for (const gone of expansion.removed) {
      if (!deleteObject(db, gone.kind, gone.name)) continue;
      results.push({ kind: gone.kind, name: gone.name, outcome: "deleted", owner: gone.owner });
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
  ): ApplyResult {
    const { kind } = object;
    const { name, resourceVersion } = object.metadata;
    if (kind === "Node") {
      const role = nodeRole(this.store, name);
      const conflicts = role === undefined ? [] : systemLabelConflicts(labels, role);
      if (conflicts.length > 0) {
        const issues = conflicts.map((c) => ({
          kind,
          name,
          path: `metadata.labels["${c.key}"]`,
          message: c.message,
        }));
        throw rejected(400, [issues[0] as (typeof issues)[number], ...issues.slice(1)]);
      }
      const labeled = setNodeLabels(this.store, name, labels);
      if (labeled === "missing") {
        throw rejected(404, [
          {
            kind,
            name,
            path: "metadata.name",
            message: `node "${name}" has not joined; nodes are created by 'levee edge --token', their labels can be applied after`,
          },
        ]);
      }
      if (labeled === "changed") {
        pending.push({ kind, name, reason: "Labeled", message: `labels set to ${JSON.stringify(labels)}` });
      }
      return { kind, name, outcome: labeled === "changed" ? "configured" : "unchanged" };
    }
    if (resourceVersion !== undefined) {
      const current = getObject(db, kind, name);
      if (!current || current.metadata.resourceVersion !== resourceVersion) {
        throw rejected(409, [
          {
            kind,
            name,
            path: "metadata.resourceVersion",
            message: `${kind} ${name} has changed since resourceVersion ${resourceVersion} (now ${current?.metadata.resourceVersion ?? "deleted"}); get it again and re-apply`,
          },
        ]);
      }
    }
    const spec = specOf(object);
    const { outcome, object: stored } = upsertObject(db, kind, name, labels, spec);
    if (outcome !== "unchanged") {
      pending.push({
        kind,
        name,
        reason: outcome === "created" ? "Created" : "Configured",
        message: `generation ${stored.metadata.generation}`,
      });
    }
    return { kind, name, outcome, generation: stored.metadata.generation };
  }

  /**
   * Deletes an object and what it owns (a Dayu object's Service); undefined when it did not exist.
   * An owned object cannot be deleted on its own (a 409 ApiError: delete its owner). Deleting an
   * ImageMap translates the Dayu objects again.
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
            message: `${kind} ${name} is made from ${describeRef(owner)}: delete or change that instead`,
          },
        ]);
      }
      if (!deleteObject(db, kind, name)) return { deleted: undefined, changes: [], recorded: [] };
      const pending: PendingEvent[] = [{ kind, name, reason: "Deleted", message: "" }];
      const deleted: ObjectRef[] = [{ kind, name }];
      for (const owned of releaseOwned(db, { kind, name })) {
        if (!deleteObject(db, owned.kind, owned.name)) continue;
        deleted.push(owned);
        pending.push({ ...owned, reason: "Deleted", message: `with ${kind}/${name}` });
      }
      const results = kind === "ImageMap" ? this.applyInTx(db, [], pending, true) : [];
      const changes = this.replanInTx(pending, undefined, results);
      return { deleted, changes, recorded: pending.map((e) => this.record(e)) };
    });
    this.afterCommit(recorded, changes);
    return deleted;
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
   * Stores and emits events about things outside apply (e.g. node phase changes), all in one
   * transaction: a reconnect storm's events cost one commit, not one each.
   */
  recordEvents(events: readonly PendingEvent[]): LeveeEvent[] {
    if (events.length === 0) return [];
    const recorded = this.store.tx(() => events.map((e) => this.record(e)));
    for (const event of recorded) this.events.emit("event", event);
    return recorded;
  }

  get(kind: string, name: string): StoredObject | undefined {
    return getObject(this.store.db, kind, name);
  }

  list(kind: string, labelSelector?: Record<string, string>): StoredObject[] {
    return listObjects(this.store.db, kind, labelSelector);
  }

  /**
   * Plans every node (or only one) from the stored resources; call inside a transaction. After an
   * apply or a delete (`applied`: what it stored), a placement the limits refuse throws
   * an ApiError (409), and so does a mesh catalog too large for a sync message; otherwise what does not
   * fit is left pending, with an event.
   */
  private replanInTx(pending: PendingEvent[], only?: string, applied?: readonly ApplyResult[]): PlanChange[] {
    const db = this.store.db;
    const services: PlannerService[] = listObjects(db, "Service").map((o) => ({
      name: o.metadata.name,
      uid: o.metadata.uid,
      generation: o.metadata.generation,
      spec: storedSpec(o) as unknown as PlannerService["spec"],
    }));
    const configs = listObjects(db, "Config").map((o) => ({ name: o.metadata.name, spec: storedSpec(o) }));
    const before = placedServices(db, only);
    const planned = planAll({
      services,
      configs,
      nodes: nodesForPlanning(this.store, only),
      resolveTemplate: (spec, entry) =>
        resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
      limits: this.limits,
      placedBefore: (node) => before.get(node) ?? new Set(),
    });
    const unplaced: Unplaced[] = [...planned.values()].flatMap((p) => p.unplaced);
    if (applied) {
      const refused = refusedPlacements(unplaced, before, applied);
      if (refused.length > 0)
        throw rejected(409, [refused[0] as (typeof refused)[number], ...refused.slice(1)]);
    }
    const plans = new Map([...planned].map(([node, p]) => [node, p.plan]));
    const changes = writePlans(db, plans);
    // An apply or a delete re-plans every node (`only` undefined): `plans` are all the plans.
    if (applied) {
      const meshOf = services.map((s) => ({ name: s.name, mesh: s.spec.mesh as Partial<Mesh> | undefined }));
      const catalog = catalogTooLarge(this.store, meshOf, plans);
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
      this.log.warn("workers not placed", { ...u });
      pending.push({ kind: "Service", name: u.service, reason: "NotPlaced", message: u.reason });
    }
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
