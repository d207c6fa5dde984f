// The edge's side of the sync protocol (docs/PROTOCOL.md): one MQTT session as the node, with a
// retained presence and a last will; hello on every connect (repeated until welcomed); plans
// persisted, THEN acknowledged, THEN handed to the supervisor (onPlan); heartbeats carrying the
// applied revision; and worker status flushed from the durable outbox until the cloud
// acknowledges it.
//
// The link never holds the node's plan hostage: the supervisor starts from readStoredPlan() at
// boot whether or not the broker is reachable, and this link only reports newer plans.
import { readFileSync } from "node:fs";
import { PLAN_FORMAT } from "../../manifest/plan.ts";
import { nodeClientId } from "../../protocol/acl.ts";
import { HELLO_RETRY_CAP_MS, helloRetryDelayMs } from "../../protocol/hello-retry.ts";
import {
  type Body,
  decodeMessage,
  encodeMessage,
  type MessageType,
  newMessage,
  type PlanMessage,
  type RouteStatusEntry,
} from "../../protocol/messages.ts";
import { type ClientTls, MqttSession } from "../../protocol/mqtt-session.ts";
import { downTopic, parseNodeTopic, presenceTopic, upTopic } from "../../protocol/topics.ts";
import type { BackoffOptions } from "../../runtime/backoff.ts";
import { Counter } from "../../runtime/counters.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { acceptPlan, readStoredVersion, type StoredPlan } from "./plan-store.ts";
import type { StatusOutbox } from "./status-outbox.ts";

export interface EdgeLinkOptions {
  store: Store;
  log: Logger;
  node: string;
  /** The broker, e.g. mqtt://127.0.0.10:1883 (from join). */
  url: string;
  /** For an mqtts:// URL: the CA to verify the broker with (default: the system CAs). */
  tls?: ClientTls | undefined;
  username: string;
  password: string;
  agentVersion: string;
  addresses: string[];
  /**
   * The node's one status outbox, which the supervisor records into: the link sends from it
   * (after every connect, and shortly after each record) and deletes what the cloud acknowledged.
   */
  outbox: StatusOutbox;
  /** Called after a newer plan was stored and acknowledged: the supervisor converges to it. */
  onPlan: (plan: StoredPlan) => void;
  /** Default: the kernel's boot id (changes on reboot). */
  bootId?: string;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  /** Heartbeat interval until the cloud's welcome says otherwise. */
  initialHeartbeatSeconds?: number;
}

export interface EdgeSyncInfo {
  connected: boolean;
  heartbeatSeconds: number;
  plan: { epoch: string; revision: number; hash: string } | null;
  /** What the cloud's last welcome said it wants this node to run. */
  cloud: { epoch: string; desiredRevision: number } | null;
  outboxDepth: number;
}

export interface EdgeLink {
  /** True when connected to the broker, else why not (for /readyz-style reporting). */
  state(): true | string;
  info(): EdgeSyncInfo;
  /** This node's mesh routes, whole: sent now if connected, and again after every welcome. */
  reportRoutes(routes: RouteStatusEntry[]): void;
  /** levee_sync_dropped_total{reason}. */
  readonly dropped: Counter;
  /**
   * Also receive `topic` (one of this node's, e.g. its log requests: log-request.ts), subscribed
   * on every connect; its payloads go to `handler`, not through the plan protocol.
   */
  subscribe(topic: string, handler: (payload: Buffer) => void): void;
  /** Graceful: presence offline, then disconnect. */
  close(): Promise<void>;
}

export function bootIdOfHost(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `process-${process.pid}-${Date.now()}`;
  }
}

export function startEdgeLink(options: EdgeLinkOptions): EdgeLink {
  const { store, log, node, outbox } = options;
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  const bootId = options.bootId ?? bootIdOfHost();
  let heartbeatSeconds = options.initialHeartbeatSeconds ?? 5;
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the cloud answered this connection's hello. */
  let welcomed = false;
  /** The mesh routes last reported (re-sent after each welcome: the cloud may have missed them). */
  let routes: RouteStatusEntry[] | undefined;
  let cloud: EdgeSyncInfo["cloud"] = null;

  // The will and the online presence of one connection carry the same ts (when the connection
  // began), so the cloud can tell a will of an older, replaced connection from the current one's.
  let connectionTs = new Date().toISOString();
  const presence = (online: boolean, ts: string) =>
    encodeMessage({ ...newMessage(node, { type: "presence", online }), ts });

  const send = <T extends MessageType>(body: Body<T> & { type: T }): boolean =>
    session.publish(upTopic(node), encodeMessage(newMessage<T>(node, body)));

  const sendHeartbeat = () => {
    const v = readStoredVersion(store);
    send({
      type: "heartbeat",
      epoch: v?.epoch ?? null,
      appliedRevision: v?.revision ?? 0,
      outboxDepth: outbox.depth(),
    });
    flush(true);
  };

  const startHeartbeats = () => {
    if (heartbeatTimer) clearInterval(heartbeatTimer);
    heartbeatTimer = setInterval(sendHeartbeat, heartbeatSeconds * 1000);
  };

  const stopTimers = () => {
    if (heartbeatTimer) clearInterval(heartbeatTimer);
    if (flushTimer) clearTimeout(flushTimer);
    if (helloTimer) clearTimeout(helloTimer);
    heartbeatTimer = undefined;
    flushTimer = undefined;
    helloTimer = undefined;
  };

  const sendHello = () => {
    const v = readStoredVersion(store);
    send({
      type: "hello",
      epoch: v?.epoch ?? null,
      appliedRevision: v?.revision ?? 0,
      planHash: v?.hash ?? null,
      agentVersion: options.agentVersion,
      bootId,
      addresses: options.addresses,
    });
  };

  /**
   * A hello is a question: until a welcome answers it on this connection, ask again after
   * [1, 2) s, [2, 4) s, ... up to a minute apart, jittered so that edges that connected together
   * do not ask again together (hello-retry.ts). A hello is lost when the cloud was not subscribed
   * yet, e.g. an edge that reached an external broker before a starting cloud did; a cloud that
   * is merely slow answers a repeat with a welcome only. (Heartbeats, which also get a welcome,
   * go on meanwhile.)
   */
  const retryHello = (attempt: number) => {
    const delay = helloRetryDelayMs(attempt, HELLO_RETRY_CAP_MS);
    helloTimer = setTimeout(() => {
      helloTimer = undefined;
      if (welcomed || !session.isReady()) return;
      sendHello();
      retryHello(attempt + 1);
    }, delay);
  };

  /** Publishes outbox batches: with `resend`, first one batch of any unacked rows. */
  const flush = (resend: boolean) => {
    if (!session.isReady()) return;
    try {
      let batch = outbox.nextBatch({ resend });
      for (let n = 0; batch && n < 20; n++) {
        if (!send({ type: "status", seq: batch.seq, workers: batch.workers })) return;
        batch = outbox.nextBatch();
      }
    } catch (err) {
      log.error("cannot send worker status", { error: err });
    }
  };

  const handlePlan = (msg: PlanMessage) => {
    // A plan body this agent cannot read is neither stored nor acknowledged: the cloud keeps
    // offering it, and the node keeps running what it has until the agent is upgraded.
    if ((msg.format ?? 1) > PLAN_FORMAT) {
      dropped.inc("bad-version");
      log.warn("plan of a newer format dropped (upgrade this agent)", {
        revision: msg.revision,
        format: msg.format,
        known: PLAN_FORMAT,
      });
      return;
    }
    let result: ReturnType<typeof acceptPlan>;
    try {
      result = acceptPlan(store, msg);
    } catch (err) {
      // Not stored, so not acknowledged: the cloud sends it again after a heartbeat.
      log.error("cannot store plan", { epoch: msg.epoch, revision: msg.revision, error: err });
      return;
    }
    const { stored } = result;
    if (result.decision === "duplicate" && result.sameRevisionOtherHash) {
      log.warn("plan with a known revision but another hash ignored", {
        epoch: msg.epoch,
        revision: msg.revision,
        hash: msg.hash,
        storedHash: stored.hash,
      });
    }
    // The ack names what this node now runs (for a duplicate: what it already had).
    send({ type: "ack", epoch: stored.epoch, revision: stored.revision, hash: stored.hash });
    if (result.decision === "accept") {
      log.info("plan accepted", { epoch: stored.epoch, revision: stored.revision, hash: stored.hash });
      try {
        options.onPlan(stored);
      } catch (err) {
        log.error("plan handler failed", { revision: stored.revision, error: err });
      }
    }
  };

  const extraTopics = new Map<string, (payload: Buffer) => void>();

  const onMessage = (topic: string, payload: Buffer) => {
    const extra = extraTopics.get(topic);
    if (extra) return extra(payload);
    const parsed = parseNodeTopic(topic);
    if (!parsed || parsed.node !== node || parsed.channel !== "down") {
      dropped.inc("wrong-topic");
      log.warn("sync message dropped", { topic, reason: "wrong-topic" });
      return;
    }
    const decoded = decodeMessage(node, payload, "down");
    if (!decoded.ok) {
      dropped.inc(decoded.reason);
      log.warn("sync message dropped", { topic, reason: decoded.reason, detail: decoded.detail });
      return;
    }
    const msg = decoded.msg;
    switch (msg.type) {
      case "welcome":
        welcomed = true;
        if (routes) send({ type: "routes", routes });
        if (helloTimer) clearTimeout(helloTimer);
        helloTimer = undefined;
        cloud = { epoch: msg.epoch, desiredRevision: msg.desiredRevision };
        if (msg.heartbeatSeconds !== heartbeatSeconds) {
          heartbeatSeconds = msg.heartbeatSeconds;
          startHeartbeats();
        }
        return;
      case "plan":
        handlePlan(msg);
        return;
      case "status-ack":
        outbox.ack(msg.seq);
        if (outbox.unsent() > 0) flush(false);
        return;
      default:
        dropped.inc("bad-schema");
    }
  };

  const onReady = () => {
    session.publish(presenceTopic(node), presence(true, connectionTs), true);
    welcomed = false;
    sendHello();
    if (helloTimer) clearTimeout(helloTimer);
    retryHello(0);
    startHeartbeats();
    flush(true);
  };

  const session = new MqttSession({
    url: options.url,
    ...(options.tls ? { tls: options.tls } : {}),
    clientId: nodeClientId(node),
    username: options.username,
    password: options.password,
    will: () => {
      connectionTs = new Date().toISOString();
      return { topic: presenceTopic(node), payload: presence(false, connectionTs), retain: true };
    },
    subscriptions: [downTopic(node)],
    log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    onReady,
    onMessage,
    onDown: () => stopTimers(),
  });
  session.start();
  const flushSoon = () => {
    if (!flushTimer && session.isReady()) {
      flushTimer = setTimeout(() => {
        flushTimer = undefined;
        flush(false);
      }, 20);
    }
  };
  outbox.on("recorded", flushSoon);

  return {
    state: () => session.state(),
    info: () => {
      const v = readStoredVersion(store);
      return {
        connected: session.isReady(),
        heartbeatSeconds,
        plan: v ? { epoch: v.epoch, revision: v.revision, hash: v.hash } : null,
        cloud,
        outboxDepth: outbox.depth(),
      };
    },
    reportRoutes: (latest) => {
      routes = latest;
      if (welcomed && session.isReady()) send({ type: "routes", routes: latest });
    },
    dropped,
    subscribe: (topic, handler) => {
      extraTopics.set(topic, handler);
      session.addSubscription(topic);
    },
    close: async () => {
      outbox.off("recorded", flushSoon);
      stopTimers();
      const ts = new Date().toISOString();
      await session.close({ topic: presenceTopic(node), payload: presence(false, ts), retain: true });
    },
  };
}
