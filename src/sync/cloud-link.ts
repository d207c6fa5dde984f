// The cloud's side of the sync protocol (docs/PROTOCOL.md): one MQTT session as levee-cloud, to
// the embedded broker or an external one alike. It answers hello with welcome (and the plan when
// the node is behind), records acks and worker status, resends a plan when a heartbeat shows the
// node still behind a heartbeat after it was sent, and sweeps node phases. The SQL lives in
// src/cloud/sync-store.ts; the decisions in heartbeat.ts, phase-sweep.ts and here.
import {
  cloudEpoch,
  countNodes,
  markPlanSent,
  nodeExists,
  nodesBehind,
  readPlan,
  readPlanHead,
  recordAck,
  recordHeartbeat,
  recordHello,
  recordWorkerStatus,
  setPresence,
  touchNodes,
} from "../cloud/sync-store.ts";
import type { Logger } from "../runtime/log.ts";
import type { Store } from "../store/store.ts";
import { cloudClientId } from "./acl.ts";
import type { BackoffOptions } from "./backoff.ts";
import { Counter } from "./counters.ts";
import { heartbeatSeconds, isBehind, MISSED_HEARTBEATS, planResendDue } from "./heartbeat.ts";
import {
  type Body,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageType,
  newMessage,
  type WorkerStatus,
} from "./messages.ts";
import { type ClientTls, MqttSession } from "./mqtt-session.ts";
import { createPhaseSweeper, type PhaseChange } from "./phase-sweep.ts";
import { CLOUD_SUBSCRIPTIONS, CLOUD_USER, downTopic, parseNodeTopic, presenceTopic } from "./topics.ts";

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

export interface CloudLink {
  readonly epoch: string;
  /** True when connected and subscribed, else why not. */
  state(): true | string;
  /** Sends the node its current plan; false when there is no plan row or no connection. */
  publishPlan(node: string): boolean;
  /** The heartbeat interval for the current fleet size. */
  heartbeatSeconds(): number;
  /** Recomputes node phases now (also runs every sweepIntervalMs). */
  sweep(): void;
  /** levee_sync_dropped_total{reason}. */
  readonly dropped: Counter;
  close(): Promise<void>;
}

export function startCloudLink(options: CloudLinkOptions): CloudLink {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const iso = (ms: number) => new Date(ms).toISOString();
  const epoch = cloudEpoch(store);
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  /** last_seen not yet written (heartbeats are batched into the sweep's transaction). */
  const pendingSeen = new Map<string, string>();
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

  const currentHeartbeat = () => (options.heartbeatSeconds ?? heartbeatSeconds)(nodeCount);

  const send = <T extends MessageType>(node: string, body: Body<T> & { type: T }): boolean => {
    try {
      return session.publish(downTopic(node), encodeMessage(newMessage<T>(node, body)));
    } catch (err) {
      log.error("cannot send sync message", { node, type: body.type, error: err });
      return false;
    }
  };

  const publishPlan = (node: string): boolean => {
    if (!session.isReady()) return false;
    const row = readPlan(store, node);
    if (!row) return false;
    let plan: Record<string, unknown>;
    try {
      plan = JSON.parse(row.plan) as Record<string, unknown>;
    } catch (err) {
      log.error("stored plan is not JSON", { node, revision: row.revision, error: err });
      return false;
    }
    if (!send(node, { type: "plan", epoch, revision: row.revision, hash: row.hash, plan })) return false;
    markPlanSent(store, node, row.revision, iso(now()));
    log.debug("plan sent", { node, revision: row.revision });
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
    onPhaseChange: options.onPhaseChange,
  });
  const sweep = (only?: string) => {
    if (only === undefined) {
      touchNodes(store, pendingSeen);
      pendingSeen.clear();
      nodeCount = countNodes(store);
    }
    phases.sweep(only);
  };

  const handle = (node: string, msg: Message) => {
    const at = iso(now());
    switch (msg.type) {
      case "hello": {
        recordHello(store, node, msg, epoch, at);
        pendingSeen.delete(node);
        welcome(node);
        sweep(node);
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
        if (isBehind({ epoch, revision: head.revision }, reported) || msg.planHash !== head.hash)
          publishPlan(node);
        return;
      }
      case "heartbeat": {
        pendingSeen.set(node, at);
        recordHeartbeat(store, node, msg, epoch);
        // A node that was silent (Disconnected) is Ready again now, not at the next sweep.
        sweep(node);
        const hb = currentHeartbeat();
        if (told.get(node) !== hb) welcome(node);
        const head = readPlanHead(store, node);
        if (
          !head ||
          !isBehind({ epoch, revision: head.revision }, { epoch: msg.epoch, revision: msg.appliedRevision })
        )
          return;
        if (planResendDue(head.sentAt ? Date.parse(head.sentAt) : null, now(), hb)) publishPlan(node);
        return;
      }
      case "ack": {
        if (recordAck(store, node, msg, epoch, at) === "matched") {
          log.debug("plan acknowledged", { node, revision: msg.revision });
          try {
            options.onApplied?.(node, msg.revision);
          } catch (err) {
            log.error("applied handler failed", { node, error: err });
          }
        }
        return;
      }
      case "status": {
        recordWorkerStatus(store, node, msg.workers, at);
        send(node, { type: "status-ack", seq: msg.seq });
        try {
          options.onStatus?.(node, msg.workers);
        } catch (err) {
          log.error("status handler failed", { node, error: err });
        }
        return;
      }
      case "presence": {
        const ts = Date.parse(msg.ts);
        if (msg.online) onlineTs.set(node, ts);
        else if (ts < (onlineTs.get(node) ?? Number.NEGATIVE_INFINITY)) {
          log.debug("stale offline presence ignored", { node, ts: msg.ts });
          return;
        }
        setPresence(store, node, msg.online);
        sweep(node);
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

  const onMessage = (topic: string, payload: Buffer) => {
    const parsed = parseNodeTopic(topic);
    if (!parsed || parsed.channel === "down") return drop(topic, "wrong-topic");
    // An empty retained presence is how a stale one is cleared; nothing to do.
    if (parsed.channel === "presence" && payload.length === 0) return;
    const decoded = decodeMessage(parsed.node, payload, parsed.channel);
    if (!decoded.ok) return drop(topic, decoded.reason, decoded.detail);
    if (!nodeExists(store, parsed.node)) {
      drop(topic, "unknown-node");
      // A deleted node's retained presence would come back on every reconnect: clear it.
      if (parsed.channel === "presence") session.publish(presenceTopic(parsed.node), Buffer.alloc(0), true);
      return;
    }
    try {
      handle(parsed.node, decoded.msg);
    } catch (err) {
      log.error("sync message failed", { topic, type: decoded.msg.type, error: err });
    }
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
      // Plans changed while we were away: nodes that look online get theirs now, the rest on hello.
      for (const node of nodesBehind(store)) publishPlan(node);
    },
    onMessage,
  });
  session.start();
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (err) {
      log.error("phase sweep failed", { error: err });
    }
  }, options.sweepIntervalMs ?? 2000);

  return {
    epoch,
    state: () => session.state(),
    publishPlan,
    heartbeatSeconds: currentHeartbeat,
    sweep: () => sweep(),
    dropped,
    close: async () => {
      clearInterval(timer);
      phases.close();
      try {
        touchNodes(store, pendingSeen);
      } catch (err) {
        log.warn("cannot write last seen times", { error: err });
      }
      pendingSeen.clear();
      await session.close();
    },
  };
}
