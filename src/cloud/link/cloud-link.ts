// The cloud's side of the sync protocol (docs/PROTOCOL.md): one MQTT session as levee-cloud, to
// the embedded broker or an external one alike. It answers hello with welcome (and the plan when
// the node is behind), records acks and worker status, resends a plan when a heartbeat shows the
// node still behind a heartbeat after it was sent, and sweeps node phases. The SQL lives in
// src/cloud/link/sync-store.ts; the decisions in heartbeat.ts, hello-retry.ts, phase-sweep.ts and here.
//
// Messages are handled in batches: all that arrived in one event-loop turn in one transaction
// (group-commit.ts), and the messages to edges and the callbacks they cause go out after its
// commit, so no edge ever sees a plan or a status-ack the cloud's database might not keep. When a
// plan went out is kept in memory (plans.sent_at is written with the periodic sweep): only this
// link reads it, to resend a plan at most once a heartbeat.

import { PLAN_FORMAT } from "../../manifest/plan.ts";
import { cloudClientId } from "../../protocol/acl.ts";
import { heartbeatSeconds, isBehind, MISSED_HEARTBEATS, planResendDue } from "../../protocol/heartbeat.ts";
import { planOnItsWay, type SentPlan } from "../../protocol/hello-retry.ts";
import {
  type Body,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageType,
  newMessage,
  type WorkerStatus,
} from "../../protocol/messages.ts";
import { type ClientTls, MqttSession } from "../../protocol/mqtt-session.ts";
import {
  CLOUD_SUBSCRIPTIONS,
  CLOUD_USER,
  downTopic,
  parseNodeTopic,
  presenceTopic,
} from "../../protocol/topics.ts";
import type { BackoffOptions } from "../../runtime/backoff.ts";
import { Counter } from "../../runtime/counters.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { GroupCommit, TurnQueue } from "./group-commit.ts";
import { createPhaseSweeper, type PhaseChange } from "./phase-sweep.ts";
import {
  cloudEpoch,
  countNodes,
  nodeExists,
  nodesBehind,
  readPlan,
  readPlanHead,
  recordAck,
  recordHeartbeat,
  recordHello,
  recordPlansSent,
  recordRoutes,
  recordWorkerStatus,
  setPresence,
  touchNodes,
} from "./sync-store.ts";
import { unsentPlans } from "./unsent-plans.ts";

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
  /** Suffix of the client id levee-cloud.<suffix>; default the process id. */
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
  stats(): CloudLinkStats;
  /** Publishes a payload outside the plan protocol (QoS 1): log requests (log-request.ts). False when not connected. */
  publish(topic: string, payload: Buffer, retain?: boolean): boolean;
  close(): Promise<void>;
}

interface Received {
  topic: string;
  node: string;
  channel: "up" | "presence";
  msg: Message;
}

export function startCloudLink(options: CloudLinkOptions): CloudLink {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const iso = (ms: number) => new Date(ms).toISOString();
  const epoch = cloudEpoch(store);
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  const commit = new GroupCommit(store, log);
  const unsent = unsentPlans(dropped, log, (node) => readPlanHead(store, node));
  /** last_seen not yet written (heartbeats are batched into the sweep's transaction). */
  const pendingSeen = new Map<string, string>();
  /** The plan last sent to each node and when; sentDirty: not yet written to plans.sent_at. */
  const sent = new Map<string, SentPlan>();
  const sentDirty = new Set<string>();
  /** When (cloud clock) the cloud heard each node's current connection begin (online presence). */
  const connectedSince = new Map<string, number>();
  /** The heartbeat interval each node was last told in a welcome. */
  const told = new Map<string, number>();
  /**
   * When (by the node's clock) the connection behind each node's last "online" began. An edge
   * stamps its will and its online presence with the same time, so an offline presence older
   * than that is the will of a connection already replaced (a taken-over session): ignored.
   */
  const onlineTs = new Map<string, number>();
  let nodeCount = countNodes(store);
  let readySince = 0;
  let messages = 0;
  let helloRepeats = 0;

  const currentHeartbeat = () => (options.heartbeatSeconds ?? heartbeatSeconds)(nodeCount);

  /** Publishes now, or after the commit when a batch is open. */
  const send = <T extends MessageType>(node: string, body: Body<T> & { type: T }): void => {
    const payload = encodeMessage(newMessage<T>(node, body));
    commit.later(() => {
      try {
        session.publish(downTopic(node), payload);
      } catch (err) {
        log.error("cannot send sync message", { node, type: body.type, error: err });
      }
    });
  };

  /** Reads the node's plan and sends it (after the commit: the plan as committed). */
  const deliverPlan = (node: string): boolean => {
    const row = readPlan(store, node);
    if (!row) return false;
    let plan: Record<string, unknown>;
    try {
      plan = JSON.parse(row.plan) as Record<string, unknown>;
    } catch (err) {
      log.error("stored plan is not JSON", { node, revision: row.revision, error: err });
      return false;
    }
    const body = {
      type: "plan" as const,
      epoch,
      revision: row.revision,
      hash: row.hash,
      format: PLAN_FORMAT,
      plan,
    };
    try {
      if (!session.publish(downTopic(node), encodeMessage(newMessage(node, body)))) return false;
    } catch (err) {
      log.error("cannot send sync message", { node, type: "plan", error: err });
      return false;
    }
    sent.set(node, { revision: row.revision, hash: row.hash, atMs: now() });
    sentDirty.add(node);
    log.debug("plan sent", { node, revision: row.revision });
    return true;
  };

  const publishPlan = (node: string): boolean => {
    if (!session.isReady()) return false;
    if (!commit.open) return deliverPlan(node);
    // One plan per node per batch, read after the commit.
    commit.laterOnce(`plan:${node}`, () => deliverPlan(node));
    return true;
  };

  const welcome = (node: string) => {
    const hb = currentHeartbeat();
    told.set(node, hb);
    send(node, {
      type: "welcome",
      epoch,
      desiredRevision: readPlanHead(store, node)?.revision ?? 0,
      heartbeatSeconds: hb,
    });
  };

  const phases = createPhaseSweeper({
    store,
    log,
    now,
    pendingSeen,
    heartbeatFor: (node) => Math.max(currentHeartbeat(), told.get(node) ?? 0),
    lostAfterMs: options.lostAfterMs,
    blind: (t) => !session.isReady() || t - readySince < MISSED_HEARTBEATS * currentHeartbeat() * 1000,
    // After the commit: a re-plan it causes runs in its own transaction.
    onPhaseChange: (change) => commit.later(() => options.onPhaseChange?.(change)),
  });

  /** Writes what is kept in memory (last_seen, sent_at); inside a batch when one is open. */
  const writeBack = () => {
    const seen = new Map(pendingSeen);
    const plans = [...sentDirty].flatMap((node) => {
      const p = sent.get(node);
      return p
        ? [[node, { revision: p.revision, at: iso(p.atMs) }] as [string, { revision: number; at: string }]]
        : [];
    });
    touchNodes(store, seen);
    if (plans.length > 0) recordPlansSent(store, plans);
    commit.later(() => {
      for (const [node, at] of seen) if (pendingSeen.get(node) === at) pendingSeen.delete(node);
      for (const [node] of plans) sentDirty.delete(node);
    });
  };

  const sweepNode = (node: string) => phases.sweep(node);
  const sweepAll = () => {
    queue.flush();
    commit.run("sweep", () => {
      writeBack();
      nodeCount = countNodes(store);
      phases.sweep();
    });
  };

  const handle = (node: string, msg: Message) => {
    const at = iso(now());
    switch (msg.type) {
      case "hello": {
        if (recordHello(store, node, msg, epoch, at) === "unsent")
          unsent.report(node, "hello", msg.appliedRevision, msg.planHash);
        pendingSeen.delete(node);
        welcome(node);
        sweepNode(node);
        const head = readPlanHead(store, node);
        if (!head) return;
        if (msg.epoch === epoch && msg.appliedRevision > head.revision) {
          log.warn("node is ahead of the cloud's plan (database restored without a new epoch?)", {
            node,
            nodeRevision: msg.appliedRevision,
            cloudRevision: head.revision,
          });
        }
        const reported = { epoch: msg.epoch, revision: msg.appliedRevision };
        if (!isBehind({ epoch, revision: head.revision }, reported) && msg.planHash === head.hash) return;
        // A repeated hello (the edge was not welcomed fast enough): its plan is already on its way.
        if (planOnItsWay(sent.get(node), head, connectedSince.get(node), now(), currentHeartbeat())) {
          helloRepeats++;
          log.debug("repeated hello: plan already sent on this connection", {
            node,
            revision: head.revision,
          });
          return;
        }
        publishPlan(node);
        return;
      }
      case "heartbeat": {
        pendingSeen.set(node, at);
        if (recordHeartbeat(store, node, msg, epoch).applied === "unsent")
          unsent.report(node, "heartbeat", msg.appliedRevision, null);
        // A node that was silent (Disconnected) is Ready again now, not at the next sweep.
        sweepNode(node);
        const hb = currentHeartbeat();
        if (told.get(node) !== hb) welcome(node);
        const head = readPlanHead(store, node);
        if (
          !head ||
          !isBehind({ epoch, revision: head.revision }, { epoch: msg.epoch, revision: msg.appliedRevision })
        )
          return;
        const last = sent.get(node);
        const sentAtMs =
          last?.revision === head.revision ? last.atMs : head.sentAt ? Date.parse(head.sentAt) : null;
        // Not sent on this connection (its hello was lost): now; else at most once a heartbeat.
        const onThisConnection =
          last?.revision === head.revision && last.atMs >= (connectedSince.get(node) ?? 0);
        if (!onThisConnection || planResendDue(sentAtMs, now(), hb)) publishPlan(node);
        return;
      }
      case "ack": {
        const outcome = recordAck(store, node, msg, epoch, at);
        if (outcome === "unsent") unsent.report(node, "ack", msg.revision, msg.hash);
        if (outcome === "matched") {
          unsent.clear(node);
          log.debug("plan acknowledged", { node, revision: msg.revision });
          commit.later(() => options.onApplied?.(node, msg.revision));
        }
        return;
      }
      case "status": {
        recordWorkerStatus(store, node, msg.workers, at);
        // After the commit: the edge deletes its outbox rows when it gets this.
        send(node, { type: "status-ack", seq: msg.seq });
        commit.later(() => options.onStatus?.(node, msg.workers));
        return;
      }
      case "routes": {
        recordRoutes(store, node, msg.routes, at);
        return;
      }
      case "presence": {
        const ts = Date.parse(msg.ts);
        if (msg.online) {
          onlineTs.set(node, ts);
          // A new connection: whatever was sent or told on the one before may be lost with it.
          connectedSince.set(node, now());
          told.delete(node);
        } else if (ts < (onlineTs.get(node) ?? Number.NEGATIVE_INFINITY)) {
          log.debug("stale offline presence ignored", { node, ts: msg.ts });
          return;
        } else connectedSince.delete(node);
        setPresence(store, node, msg.online);
        sweepNode(node);
        return;
      }
      default:
        dropped.inc("bad-schema");
    }
  };

  const drop = (topic: string, reason: string, detail?: string) => {
    dropped.inc(reason);
    log.warn("sync message dropped", { topic, reason, detail });
  };

  const handleReceived = (r: Received) => {
    messages++;
    if (!nodeExists(store, r.node)) {
      drop(r.topic, "unknown-node");
      // A deleted node's retained presence would come back on every reconnect: clear it.
      if (r.channel === "presence")
        commit.later(() => session.publish(presenceTopic(r.node), Buffer.alloc(0), true));
      return;
    }
    handle(r.node, r.msg);
  };

  const queue: TurnQueue<Received> = new TurnQueue(commit, handleReceived, (r, err) =>
    log.error("sync message failed", { topic: r.topic, type: r.msg.type, error: err }),
  );

  const onMessage = (topic: string, payload: Buffer) => {
    const parsed = parseNodeTopic(topic);
    if (!parsed || parsed.channel === "down") return drop(topic, "wrong-topic");
    // An empty retained presence is how a stale one is cleared; nothing to do.
    if (parsed.channel === "presence" && payload.length === 0) return;
    const decoded = decodeMessage(parsed.node, payload, parsed.channel);
    if (!decoded.ok) return drop(topic, decoded.reason, decoded.detail);
    queue.push({ topic, node: parsed.node, channel: parsed.channel, msg: decoded.msg });
  };

  const session = new MqttSession({
    url: options.url,
    ...(options.tls ? { tls: options.tls } : {}),
    clientId: cloudClientId(options.clientSuffix ?? String(process.pid)),
    username: CLOUD_USER,
    password: options.password,
    subscriptions: CLOUD_SUBSCRIPTIONS,
    log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    onReady: () => {
      readySince = now();
      // What was sent before may have been lost with the cloud's own connection.
      sent.clear();
      // Plans changed while we were away: nodes that look online get theirs now, the rest on hello.
      for (const node of nodesBehind(store)) publishPlan(node);
    },
    onMessage,
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
    epoch,
    state: () => session.state(),
    publishPlan,
    heartbeatSeconds: currentHeartbeat,
    sweep: sweepAll,
    dropped,
    stats: () => ({ batches: commit.stats().batches, messages, helloRepeats }),
    publish: (topic, payload, retain) => session.publish(topic, payload, retain ?? false),
    close: async () => {
      clearInterval(timer);
      phases.close();
      try {
        queue.flush();
        commit.run("close", writeBack);
      } catch (err) {
        log.warn("cannot write last seen times", { error: err });
      }
      await session.close();
    },
  };
}
