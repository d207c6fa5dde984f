// The edge's side of the sync protocol (docs/PROTOCOL.md): one MQTT session as the node, with a
// retained presence and a last will; hello on every connect (repeated until welcomed); plans
// persisted, THEN acknowledged, THEN handed to the supervisor (onPlan); heartbeats carrying the
// applied revision; and worker status flushed from the durable outbox until the cloud
// acknowledges it. This module only puts the parts together: the link's memory
// (edge-link-state.ts), one handler per message type (handlers/, dispatched from
// handlers/index.ts), what the edge sends on its own (handlers/outbound.ts), and the session.
//
// The link never holds the node's plan hostage: the supervisor starts from readStoredPlan() at
// boot whether or not the broker is reachable, and this link only reports newer plans.
import { readFileSync } from "node:fs";
import { nodeClientId } from "../../protocol/acl.ts";
import type { Body, MessageOf, RouteStatusEntry, StagingEntry } from "../../protocol/messages.ts";
import { type ClientTls, MqttSession } from "../../protocol/mqtt-session.ts";
import { SyncBytes } from "../../protocol/sync-bytes.ts";
import { downTopic, presenceTopic } from "../../protocol/topics.ts";
import type { BackoffOptions } from "../../runtime/backoff.ts";
import { Counter } from "../../runtime/counters.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import { storedPlanKey } from "../plan-key.ts";
import { systemClock } from "./clock.ts";
import { EdgeLinkState } from "./edge-link-state.ts";
import { handleConnected } from "./handlers/connected.ts";
import type { EdgeLinkContext } from "./handlers/context.ts";
import { handleIncoming } from "./handlers/index.ts";
import { presencePayload, scheduleFlush, sendUp } from "./handlers/outbound.ts";
import { acceptPlan, readStoredPlan, readStoredVersion, type StoredPlan } from "./plan-store.ts";
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
  /** The usage heartbeats carry when one is due (node/usage/usage-report.ts); none without it. */
  usage?: EdgeLinkContext["usage"];
  /** What a refusal of the node's credentials means and what to do (the session says it). */
  credentialsRefused?: () => string | undefined;
  /** Each time the session is connected and subscribed. */
  onConnected?: () => void;
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
  /** What this node has fetched of its staged generations, whole: sent now if connected, and after every welcome. */
  reportStaging(services: StagingEntry[]): void;
  /** Sends a traffic report (traffic-reporter.ts) if connected and welcomed; false when not sent. */
  sendTraffic(body: Body<"traffic"> & { type: "traffic" }): boolean;
  /** Sends an upgrade report (src/node/upgrade/) if connected and welcomed; false when not sent. */
  sendUpgradeReport(body: Body<"upgrade-report"> & { type: "upgrade-report" }): boolean;
  /** Where the cloud's upgrade orders go (one taker), and a listener called after every welcome. */
  onUpgrade(handler: (order: MessageOf<"upgrade">) => void, onWelcome: () => void): void;
  /** levee_sync_dropped_total{reason}. */
  readonly dropped: Counter;
  /** levee_sync_bytes_total{direction,kind}: every MQTT packet of the link (sync-bytes.ts). */
  readonly bytes: SyncBytes;
  /** levee_sync_plans_received_total{form}: how plans arrived (plain, deflated, delta…). */
  readonly plansReceived: Counter;
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
  const clock = systemClock;
  const iso = () => new Date(clock.now()).toISOString();
  const dropped = new Counter("levee_sync_dropped_total", "reason");
  const bytes = new SyncBytes();
  const plansReceived = new Counter("levee_sync_plans_received_total", "form");
  const state = new EdgeLinkState(options.initialHeartbeatSeconds ?? 5, iso());
  const ctx: EdgeLinkContext = {
    node,
    state,
    plans: {
      accept: (plan) => acceptPlan(store, plan),
      version: () => readStoredVersion(store),
      stored: () => readStoredPlan(store),
    },
    outbox,
    agent: {
      agentVersion: options.agentVersion,
      bootId: options.bootId ?? bootIdOfHost(),
      addresses: options.addresses,
    },
    publish: (topic, payload, retain = false) => session.publish(topic, payload, retain),
    publishUnacked: (topic, payload) => session.publishUnacked(topic, payload),
    isReady: () => session.isReady(),
    clock,
    dropped,
    plansReceived,
    log,
    onPlan: options.onPlan,
    planKey: () => storedPlanKey(store),
    usage: options.usage,
  };

  const session = new MqttSession({
    url: options.url,
    ...(options.tls ? { tls: options.tls } : {}),
    clientId: nodeClientId(node),
    username: options.username,
    password: options.password,
    will: () => {
      state.connectionTs = iso();
      return {
        topic: presenceTopic(node),
        payload: presencePayload(node, false, state.connectionTs),
        retain: true,
      };
    },
    subscriptions: [downTopic(node)],
    log,
    bytes,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    onReady: () => {
      options.onConnected?.();
      handleConnected(ctx);
    },
    onMessage: (topic, payload) => handleIncoming(ctx, topic, payload),
    onDown: () => state.stopTimers(),
    ...(options.credentialsRefused ? { credentialsRefused: options.credentialsRefused } : {}),
  });
  session.start();
  // A status the supervisor recorded goes out shortly (statuses recorded together, together).
  const flushSoon = () => scheduleFlush(ctx);
  outbox.on("recorded", flushSoon);

  return {
    state: () => session.state(),
    info: () => {
      const v = readStoredVersion(store);
      return {
        connected: session.isReady(),
        heartbeatSeconds: state.heartbeatSeconds,
        plan: v ? { epoch: v.epoch, revision: v.revision, hash: v.hash } : null,
        cloud: state.cloud,
        outboxDepth: outbox.depth(),
      };
    },
    reportRoutes: (latest) => {
      state.routes = latest;
      if (state.welcomed && session.isReady()) sendUp(ctx, { type: "routes", routes: latest });
    },
    reportStaging: (services) => {
      state.staging = services;
      if (state.welcomed && session.isReady()) sendUp(ctx, { type: "staging", services });
    },
    sendTraffic: (body) => state.welcomed && session.isReady() && sendUp(ctx, body),
    sendUpgradeReport: (body) => state.welcomed && session.isReady() && sendUp(ctx, body),
    onUpgrade: (handler, onWelcome) => {
      state.upgradeHandler = handler;
      state.welcomeListeners.push(onWelcome);
    },
    dropped,
    bytes,
    plansReceived,
    subscribe: (topic, handler) => {
      state.extraTopics.set(topic, handler);
      session.addSubscription(topic);
    },
    close: async () => {
      outbox.off("recorded", flushSoon);
      state.stopTimers();
      const closing = {
        topic: presenceTopic(node),
        payload: presencePayload(node, false, iso()),
        retain: true,
      };
      await session.close(closing);
    },
  };
}
