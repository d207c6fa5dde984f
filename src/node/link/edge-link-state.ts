// What the edge link remembers about its connection to the cloud, in memory: whether the cloud
// answered this connection's hello, what its last welcome said, the heartbeat interval, the mesh
// routes and staging last reported, the latest plan it refused, the time that stamps this connection's presence and will, and the timers
// that run while connected. The handlers (handlers/) read and change it; the plan and the status
// outbox, which must survive a restart, live in the node's store (plan-store.ts, status-outbox.ts).
import type { Heartbeat, MessageOf, RouteStatusEntry, StagingEntry } from "../../protocol/messages.ts";
import type { Cancel } from "./clock.ts";

/** What the cloud's last welcome said it wants this node to run. */
export interface CloudView {
  epoch: string;
  desiredRevision: number;
}

export class EdgeLinkState {
  /** The heartbeat interval: the initial one until a welcome says otherwise. */
  heartbeatSeconds: number;
  /** Whether the cloud answered this connection's hello. */
  welcomed = false;
  /** Whether the cloud's last welcome said it reads beats (a compact heartbeat). */
  beats = false;
  /** The mesh routes last reported (re-sent after each welcome: the cloud may have missed them). */
  routes: RouteStatusEntry[] | undefined;
  /** The staging reports last made (re-sent after each welcome, like the routes). */
  staging: StagingEntry[] | undefined;
  cloud: CloudView | null = null;
  /** The latest plan refused (bad signature), reported with every heartbeat until one is accepted. */
  refused: Heartbeat["planRefused"];
  /**
   * When the current connection began. Its will and its online presence carry this same ts, so the
   * cloud can tell a will of an older, replaced connection from the current one's.
   */
  connectionTs: string;
  /** Topics outside the plan protocol (log requests, the catalog) and who reads their payloads. */
  readonly extraTopics = new Map<string, (payload: Buffer) => void>();
  /** Who takes the cloud's upgrade orders (src/node/upgrade/), and who hears of each welcome. */
  upgradeHandler: ((order: MessageOf<"upgrade">) => void) | undefined;
  readonly welcomeListeners: (() => void)[] = [];
  heartbeatTimer: Cancel | undefined;
  flushTimer: Cancel | undefined;
  helloTimer: Cancel | undefined;

  constructor(heartbeatSeconds: number, connectionTs: string) {
    this.heartbeatSeconds = heartbeatSeconds;
    this.connectionTs = connectionTs;
  }

  /** Stops asking again with hello (a welcome answered it, or a new connection asks afresh). */
  cancelHelloRetry(): void {
    this.helloTimer?.();
    this.helloTimer = undefined;
  }

  /** Stops every timer (the connection went down, or the link closes). */
  stopTimers(): void {
    this.heartbeatTimer?.();
    this.flushTimer?.();
    this.helloTimer?.();
    this.heartbeatTimer = undefined;
    this.flushTimer = undefined;
    this.helloTimer = undefined;
  }
}
