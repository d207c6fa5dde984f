// The cloud's side of the sync protocol (docs/PROTOCOL.md): one MQTT session as levee-cloud, to
// the embedded broker or an external one alike. This module only puts the parts together: the
// link's memory (cloud-link-state.ts), the store functions (sync-records.ts, SQL in
// sync-store.ts), one handler per message type (handlers/, dispatched from handlers/index.ts),
// plan sending (plan-delivery.ts), the phase sweep (phase-sweep.ts) and the write-back of what
// is kept in memory (write-back.ts).
//
// Messages are handled in batches: all that arrived in one event-loop turn in one transaction
// (group-commit.ts), and the messages to edges and the callbacks they cause go out after its
// commit, so no edge ever sees a plan or a status-ack the cloud's database might not keep. When a
// plan went out is kept in memory (plans.sent_at is written with the periodic sweep): only this
// link reads it, to resend a plan at most once a heartbeat.

import { cloudClientId } from "../../protocol/acl.ts";
import { MISSED_HEARTBEATS } from "../../protocol/heartbeat.ts";
import type { Heartbeat, MessageOf, WorkerStatus } from "../../protocol/messages.ts";
import { type ClientTls, MqttSession } from "../../protocol/mqtt-session.ts";
import type { PlanSignature, SignedPlanFields } from "../../protocol/plan-signature.ts";
import { SyncBytes } from "../../protocol/sync-bytes.ts";
import { CLOUD_SUBSCRIPTIONS, CLOUD_USER } from "../../protocol/topics.ts";
import type { BackoffOptions } from "../../runtime/backoff.ts";
import { Counter } from "../../runtime/counters.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { CloudLinkState } from "./cloud-link-state.ts";
import { GroupCommit, TurnQueue } from "./group-commit.ts";
import { handleConnected } from "./handlers/connected.ts";
import type { CloudLinkContext } from "./handlers/context.ts";
import { handleReceived, type Received, receive } from "./handlers/index.ts";
import { createPhaseSweeper, type PhaseChange } from "./phase-sweep.ts";
import { planDelivery } from "./plan-delivery.ts";
import { syncRecords } from "./sync-records.ts";
import { cloudEpoch } from "./sync-store.ts";
import { unsentPlans } from "./unsent-plans.ts";
import { writeBack } from "./write-back.ts";

export type { PhaseChange };

export interface CloudLinkOptions {
  store: Store;
  log: Logger;
  /** The broker: the embedded one's address or --mqtt-url. */
  url: string;
  /** For an mqtts:// URL: the CA to verify the broker with (default: the system CAs). */
  tls?: ClientTls | undefined;
  /** levee-cloud's password (the embedded broker's authority must accept it). */
  password: string;
  /** Suffix of the client id levee-cloud_<suffix>; default the process id. */
  clientSuffix?: string;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  /** How often node phases are recomputed; default 2000 ms. */
  sweepIntervalMs?: number;
  /**
   * Time in Disconnected before a node is Lost, or null for never (the default). A node that goes
   * Disconnected gets a timer for exactly then, so Lost does not wait for the next sweep.
   */
  lostAfterMs?: (node: string) => number | null;
  /** After a node's phase changed (record an event, re-plan). */
  onPhaseChange?: (change: PhaseChange) => void;
  /** After a node acknowledged exactly its desired plan. */
  onApplied?: (node: string, revision: number) => void;
  /** After worker status from a node was stored. */
  onStatus?: (node: string, workers: readonly WorkerStatus[]) => void;
  /** Signs each plan message (plan-signing-key.ts). */
  signPlan?: (fields: SignedPlanFields) => PlanSignature;
  /** After a node reported a plan it refused (once per refused plan and reason). */
  onPlanRefused?: (node: string, refusal: NonNullable<Heartbeat["planRefused"]>) => void;
  /** After a node reported a staged generation ready (staging-hold.ts: it may switch now). */
  onStaged?: (node: string) => void;
  /** A node's traffic report (sent while a dashboard watches: src/protocol/traffic.ts). */
  onTraffic?: (node: string, report: MessageOf<"traffic">, receivedAt: number) => void;
  /** A node's progress through an agent upgrade (src/cloud/upgrade/), inside the batch's transaction. */
  onUpgradeReport?: (node: string, report: MessageOf<"upgrade-report">) => void;
  /** Heartbeat interval for a fleet size; default heartbeatSeconds (PROTOCOL.md). Tests shorten it. */
  heartbeatSeconds?: (nodeCount: number) => number;
  /** Clock, ms (tests). */
  now?: () => number;
}

export interface CloudLinkStats {
  /** Batches committed (each holds the messages of one event-loop turn, or one sweep). */
  batches: number;
  /** Messages handled. */
  messages: number;
  /** Repeated hellos answered with a welcome only: their plan was on its way (hello-retry.ts). */
  helloRepeats: number;
  /** MQTT messages received (before decoding: the dropped ones too). */
  received: number;
  /** MQTT messages published (plans, welcomes, catalogs, log requests…). */
  sent: number;
}

export interface CloudLink {
  readonly epoch: string;
  /** True when connected and subscribed, else why not. */
  state(): true | string;
  /**
   * Sends the node its current plan; false when there is no plan row or no connection. Called
   * while a batch is open (from a callback of this link), it is sent after the batch's commit.
   */
  publishPlan(node: string): boolean;
  /** The heartbeat interval for the current fleet size. */
  heartbeatSeconds(): number;
  /** Handles the messages received so far, then recomputes node phases (also every sweepIntervalMs). */
  sweep(): void;
  /** levee_sync_dropped_total{reason}. */
  readonly dropped: Counter;
  /** levee_sync_bytes_total{direction,kind}: the cloud's own MQTT session (sync-bytes.ts). */
  readonly bytes: SyncBytes;
  /** levee_sync_plans_sent_total{form}: plain, deflated, delta, delta-deflated (plan-packing.ts). */
  readonly plansSent: Counter;
  stats(): CloudLinkStats;
  /** Publishes a payload outside the plan protocol (QoS 1): log requests (log-request.ts). False when not connected. */
  publish(topic: string, payload: Buffer, retain?: boolean): boolean;
  close(): Promise<void>;
}

export function startCloudLink(options: CloudLinkOptions): CloudLink {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const records = syncRecords(store);
  const state = new CloudLinkState(cloudEpoch(store), records.countNodes(), options.heartbeatSeconds);
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  const bytes = new SyncBytes();
  const commit = new GroupCommit(store, log);
  const later = (action: () => void) => commit.later(action);
  const publish = (topic: string, payload: Buffer, retain = false) => {
    const sent = session.publish(topic, payload, retain);
    if (sent) state.published++;
    return sent;
  };
  const publishUnacked = (topic: string, payload: Buffer) => {
    const sent = session.publishUnacked(topic, payload);
    if (sent) state.published++;
    return sent;
  };
  const { publishPlan } = planDelivery({
    state,
    records,
    commit,
    isReady: () => session.isReady(),
    publish,
    now,
    log,
    sign: options.signPlan,
  });
  const phases = createPhaseSweeper({
    store,
    log,
    now,
    pendingSeen: state.pendingSeen,
    heartbeatFor: (node) => state.heartbeatFor(node),
    lostAfterMs: options.lostAfterMs,
    blind: (t) =>
      !session.isReady() || t - state.readySince < MISSED_HEARTBEATS * state.heartbeatSeconds() * 1000,
    // After the commit: a re-plan it causes runs in its own transaction.
    onPhaseChange: (change) => later(() => options.onPhaseChange?.(change)),
  });
  const ctx: CloudLinkContext = {
    state,
    records,
    publish,
    publishUnacked,
    later,
    publishPlan,
    sweepNode: (node) => phases.sweep(node),
    unsent: unsentPlans(dropped, log, (node) => records.readPlanHead(node)),
    dropped,
    now,
    log,
    onApplied: options.onApplied,
    onStatus: options.onStatus,
    onPlanRefused: options.onPlanRefused,
    onTraffic: options.onTraffic,
    onStaged: options.onStaged,
    onUpgradeReport: options.onUpgradeReport,
  };

  const queue = new TurnQueue<Received>(
    commit,
    (r) => handleReceived(ctx, r),
    (r, err) => log.error("sync message failed", { topic: r.topic, type: r.msg.type, error: err }),
  );

  const sweepAll = () => {
    queue.flush();
    commit.run("sweep", () => {
      writeBack(state, records, later);
      state.nodeCount = records.countNodes();
      phases.sweep();
    });
  };

  const session = new MqttSession({
    url: options.url,
    ...(options.tls ? { tls: options.tls } : {}),
    clientId: cloudClientId(options.clientSuffix ?? String(process.pid)),
    username: CLOUD_USER,
    password: options.password,
    subscriptions: CLOUD_SUBSCRIPTIONS,
    log,
    bytes,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    onReady: () => handleConnected(ctx),
    onMessage: (topic, payload) => {
      state.received++;
      const received = receive(ctx, topic, payload);
      if (received) queue.push(received);
    },
  });
  session.start();
  const timer = setInterval(() => {
    try {
      sweepAll();
    } catch (err) {
      log.error("phase sweep failed", { error: err });
    }
  }, options.sweepIntervalMs ?? 2000);

  return {
    epoch: state.epoch,
    state: () => session.state(),
    publishPlan,
    heartbeatSeconds: () => state.heartbeatSeconds(),
    sweep: sweepAll,
    dropped,
    bytes,
    plansSent: state.plansSent,
    stats: () => ({
      batches: commit.stats().batches,
      messages: state.messages,
      helloRepeats: state.helloRepeats,
      received: state.received,
      sent: state.published,
    }),
    publish,
    close: async () => {
      clearInterval(timer);
      phases.close();
      try {
        queue.flush();
        commit.run("close", () => writeBack(state, records, later));
      } catch (err) {
        log.warn("cannot write last seen times", { error: err });
      }
      await session.close();
    },
  };
}
