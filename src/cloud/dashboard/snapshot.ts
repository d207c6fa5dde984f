// What the dashboard's views show, read from the cloud's store: nodes with their last usage
// report, services with their workers per node (and the Dayu objects that made them), events
// filtered by node and service. Plain data, no HTML: the views (views/*.tsx) render it, the tests
// read it without a browser.
import { dayuManifestKinds } from "../../manifest/dayu/manifest-kinds.ts";
import { keyOf } from "../../manifest/namespace.ts";
import type { NodePlan } from "../../manifest/plan.ts";
import type { Store } from "../../store/store.ts";
import type { ControlPlane, LeveeEvent } from "../control-plane.ts";
import { type ObjectRef, ownedBy, ownerOf } from "../dayu/owners.ts";
import { ROLE_LABEL } from "../node-labels.ts";
import { listNodes } from "../node-registry.ts";
import { unplacedWorkers } from "../unplaced-store.ts";
import { nodeUsage } from "../usage-store.ts";
import { listWorkers, type WorkerView } from "../workers-view.ts";

export interface DashboardNode {
  name: string;
  role: string;
  phase: string;
  phaseSince: string;
  lastSeen: string | null;
  online: boolean;
  addresses: string[];
  version: string;
  arch: string;
  plan: { desired: number; applied: number };
  /** The last usage report: CPU in cores, memory in bytes (absent before the first report). */
  usage?: { cpuCores: number; cpus: number; memoryBytes: number; memoryCapacityBytes: number; at: string };
}

export interface DashboardWorker extends WorkerView {
  /** The port in the worker's template (a number, "auto": chosen by its node, or absent). */
  port: string | null;
}

export interface DashboardService {
  /** The service's key (`name`, or `name.namespace` outside `default`). */
  name: string;
  generation: number;
  meshPort: number | null;
  owner?: ObjectRef;
  workers: DashboardWorker[];
}

export interface DashboardDayuObject {
  kind: string;
  name: string;
  made: ObjectRef[];
}

export function readNodes(store: Store): DashboardNode[] {
  const usage = new Map(nodeUsage(store.db).map((u) => [u.node, u]));
  return listNodes(store).map((n) => {
    const u = usage.get(n.metadata.name);
    return {
      name: n.metadata.name,
      role: n.metadata.labels[ROLE_LABEL] ?? "edge",
      phase: n.status.phase,
      phaseSince: n.status.phaseSince,
      lastSeen: n.status.lastSeen,
      online: n.status.online,
      addresses: n.status.addresses,
      version: n.status.agentVersion,
      arch: n.status.arch,
      plan: { desired: n.status.plan.desiredRevision, applied: n.status.plan.appliedRevision },
      ...(u
        ? {
            usage: {
              cpuCores: u.cpuNanocores / 1e9,
              cpus: u.cpus,
              memoryBytes: u.memoryBytes,
              memoryCapacityBytes: u.memoryCapacityBytes,
              at: u.sampledAt,
            },
          }
        : {}),
    };
  });
}

/** Every service (its workers as listWorkers reports them, plus the ones that could not be placed). */
export function readServices(store: Store, plane: ControlPlane): DashboardService[] {
  const ports = templatePorts(store);
  const workers = [...listWorkers(store), ...unplacedWorkers(store, {})];
  const byService = new Map<string, DashboardWorker[]>();
  for (const w of workers) {
    const list = byService.get(w.service) ?? [];
    list.push({ ...w, port: ports.get(`${w.service}\u0000${w.node}\u0000${w.index}`) ?? null });
    byService.set(w.service, list);
  }
  return plane.list("Service").map((o) => {
    const key = keyOf(o);
    const spec = (o as { spec?: { mesh?: { port?: number } } }).spec;
    const owner = ownerOf(store.db, { kind: "Service", name: key });
    return {
      name: key,
      generation: o.metadata.generation,
      meshPort: spec?.mesh?.port ?? null,
      ...(owner ? { owner } : {}),
      workers: (byService.get(key) ?? []).sort((a, b) => a.node.localeCompare(b.node) || a.index - b.index),
    };
  });
}

/** The Dayu objects and what each one made. */
export function readDayu(store: Store, plane: ControlPlane): DashboardDayuObject[] {
  return dayuManifestKinds
    .map((k) => k.kind)
    .flatMap((kind) =>
      plane.list(kind).map((o) => {
        const key = keyOf(o);
        return { kind, name: key, made: ownedBy(store.db, { kind, name: key }) };
      }),
    );
}

export interface EventFilter {
  node?: string | undefined;
  service?: string | undefined;
  /** Most events (newest first); default 200. */
  limit?: number;
}

/**
 * The newest events, newest first. A node's events are those about it and those whose message
 * names it ("node edge1 ..."); a service's, those about it.
 */
export function readEvents(store: Store, filter: EventFilter = {}): LeveeEvent[] {
  const limit = Math.min(Math.max(filter.limit ?? 200, 1), 1000);
  const node = filter.node ?? null;
  const service = filter.service ?? null;
  return store.db
    .query<LeveeEvent, [string | null, string | null, number]>(
      `SELECT * FROM events
       WHERE (?1 IS NULL OR (kind = 'Node' AND name = ?1) OR instr(message, 'node ' || ?1) > 0)
         AND (?2 IS NULL OR (kind = 'Service' AND name = ?2))
       ORDER BY id DESC LIMIT ?3`,
    )
    .all(node, service, limit);
}

/** The template port of every planned worker, by service, node and index. */
function templatePorts(store: Store): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of store.db
    .query<{ node: string; plan: string }, []>("SELECT node, plan FROM plans")
    .all()) {
    const plan = JSON.parse(row.plan) as NodePlan;
    for (const service of plan.services)
      for (const worker of service.workers) {
        const port = worker.template.port;
        if (typeof port === "number" || typeof port === "string")
          out.set(`${service.name}\u0000${row.node}\u0000${worker.index}`, String(port));
      }
  }
  return out;
}
