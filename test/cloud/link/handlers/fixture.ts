// A cloud link context without a broker, for the handler tests: a cloud store of its own with
// the real store functions, and fakes for the rest. `later` holds actions as an open batch would
// until commit() runs them, so a test can tell what a handler does before and after the commit.
import { afterEach } from "bun:test";
import { CloudLinkState } from "../../../../src/cloud/link/cloud-link-state.ts";
import type { CloudLinkContext } from "../../../../src/cloud/link/handlers/context.ts";
import { syncRecords } from "../../../../src/cloud/link/sync-records.ts";
import { unsentPlans } from "../../../../src/cloud/link/unsent-plans.ts";
import { decodeMessage, type Message, type WorkerStatus } from "../../../../src/protocol/messages.ts";
import { parseNodeTopic } from "../../../../src/protocol/topics.ts";
import { Counter } from "../../../../src/runtime/counters.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../../src/store/store.ts";
import { makeTempDir } from "../../../harness/cluster.ts";

export const EPOCH = "epoch-1";
export const HEARTBEAT_S = 5;
export const T0 = Date.parse("2030-01-01T00:00:00.000Z");

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

export interface Published {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** Published at QoS 0 (publishUnacked); absent for QoS 1. */
  unacked?: true;
}

export interface CloudFixture {
  ctx: CloudLinkContext;
  store: Store;
  state: CloudLinkState;
  /** The clock the context reads, ms. */
  clock: { ms: number };
  /** Everything published, in order. */
  published: Published[];
  /** Actions waiting for the commit. */
  deferred: (() => void)[];
  /** Runs what waits for the commit, as the batch's commit does. */
  commit(): void;
  /** Nodes the handlers asked publishPlan for. */
  plansAsked: string[];
  /** Nodes whose phase was re-decided. */
  swept: string[];
  applied: [string, number][];
  statuses: [string, readonly WorkerStatus[]][];
  logs: string[];
  /** The messages published to nodes' down topics, decoded. */
  down(): { node: string; msg: Message }[];
  addNode(name: string): void;
  setPlan(node: string, revision: number, hash?: string, sentAt?: string | null): void;
  nodeRow(node: string): Record<string, unknown> | null;
  planRow(node: string): Record<string, unknown> | null;
}

export function cloudFixture(nodes: string[] = ["n1"]): CloudFixture {
  const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  stores.push(store);
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });
  const clock = { ms: T0 };
  const published: Published[] = [];
  const deferred: (() => void)[] = [];
  const plansAsked: string[] = [];
  const swept: string[] = [];
  const applied: [string, number][] = [];
  const statuses: [string, readonly WorkerStatus[]][] = [];
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  const records = syncRecords(store);
  const addNode = (name: string) => {
    const at = new Date(T0 - 60_000).toISOString();
    store.db
      .query(
        "INSERT INTO nodes (name, uid, mqtt_password_hash, joined_at, phase_since) VALUES (?, ?, '', ?, ?)",
      )
      .run(name, `uid-${name}`, at, at);
  };
  for (const n of nodes) addNode(n);
  const state = new CloudLinkState(EPOCH, nodes.length, () => HEARTBEAT_S);
  const ctx: CloudLinkContext = {
    state,
    records,
    publish: (topic, payload, retain = false) => {
      published.push({ topic, payload, retain });
      return true;
    },
    publishUnacked: (topic, payload) => {
      published.push({ topic, payload, retain: false, unacked: true });
      return true;
    },
    later: (action) => deferred.push(action),
    publishPlan: (node) => {
      plansAsked.push(node);
      return true;
    },
    sweepNode: (node) => swept.push(node),
    unsent: unsentPlans(dropped, log, (node) => records.readPlanHead(node)),
    dropped,
    now: () => clock.ms,
    log,
    onApplied: (node, revision) => applied.push([node, revision]),
    onStatus: (node, workers) => statuses.push([node, workers]),
  };
  return {
    ctx,
    store,
    state,
    clock,
    published,
    deferred,
    commit: () => {
      for (const action of deferred.splice(0)) action();
    },
    plansAsked,
    swept,
    applied,
    statuses,
    logs,
    down: () =>
      published.flatMap(({ topic, payload }) => {
        const parsed = parseNodeTopic(topic);
        if (parsed?.channel !== "down") return [];
        const decoded = decodeMessage(parsed.node, payload, "down");
        if (!decoded.ok) throw new Error(`published an invalid message: ${decoded.detail}`);
        return [{ node: parsed.node, msg: decoded.msg }];
      }),
    addNode,
    setPlan: (node, revision, hash = `hash-${revision}`, sentAt = null) => {
      store.db
        .query(
          `INSERT INTO plans (node, revision, hash, plan, sent_at) VALUES (?1, ?2, ?3, ?4, ?5)
           ON CONFLICT (node) DO UPDATE SET revision = ?2, hash = ?3, plan = ?4, sent_at = ?5`,
        )
        .run(node, revision, hash, JSON.stringify({ services: [`s${revision}`] }), sentAt);
    },
    nodeRow: (node) =>
      store.db.query<Record<string, unknown>, [string]>("SELECT * FROM nodes WHERE name = ?").get(node),
    planRow: (node) =>
      store.db.query<Record<string, unknown>, [string]>("SELECT * FROM plans WHERE node = ?").get(node),
  };
}
