// The types of the HTTP proxy engine: what route() is asked and answers, options, timeouts, events.
import type { Dialer, DialTarget, Duplex } from "../contracts.ts";
import type { ProxyOutcome } from "./dial-errors.ts";
import type { HeaderPairs } from "./http-head-writer.ts";
import type { HeadLimits, RequestHead } from "./http-parser.ts";
import type { PoolOptions, UpstreamPool } from "./upstream-pool.ts";

/** What the proxy knows about an inbound connection. */
export interface ConnectionInfo {
  /** The client's address (for a tunnel stream: the peer agent's). Appended to X-Forwarded-For. */
  remoteAddress: string;
  /** The scheme the client used, for X-Forwarded-Proto. Default "http". */
  proto?: string;
  /** A tunnel stream: the peer node it came from (its certificate's name) and the path it took. */
  peer?: { node: string; via: "direct" | "relay" };
}

/** Send the request to a target. */
export interface DialDecision {
  kind: "dial";
  target: DialTarget;
  /** Adds `X-Levee-Upstream: <label>` to the response (e.g. "edge2/web#1"). */
  upstreamLabel?: string;
  /** Request fields (lower case) not to send on, e.g. "x-levee-node". */
  removeHeaders?: readonly string[];
  /** Request fields to set on the way (replacing received ones of the same name). */
  setHeaders?: HeaderPairs;
  /** Called exactly once when the exchange is over (see ProxyOutcome). */
  done?(outcome: ProxyOutcome): void;
}

/** Answer here (e.g. 503 no ready worker, 404 unknown service). */
export interface RespondDecision {
  kind: "respond";
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export type RouteDecision = DialDecision | RespondDecision;
export type RouteFn = (head: RequestHead, info: ConnectionInfo) => RouteDecision | Promise<RouteDecision>;

export interface HttpTimeouts {
  /** A request head must be complete within this long of its first byte. Default 30 s (then 408). */
  headMs: number;
  /** An idle keep-alive client connection is closed after this long. Default 60 s. */
  keepAliveMs: number;
  /** The upstream must start its response within this long of the request. Default 60 s (then 504). */
  responseMs: number;
  /** After an error response, how long the client may take to close before it is cut. Default 2 s. */
  lingerMs: number;
}
export const DEFAULT_TIMEOUTS: HttpTimeouts = {
  headMs: 30_000,
  keepAliveMs: 60_000,
  responseMs: 60_000,
  lingerMs: 2_000,
};

/** Something a log or a metric may want to know. */
export type ProxyEvent =
  | { kind: "bad-request"; status: number; message: string; remoteAddress: string }
  | { kind: "upstream-error"; status: number; error: string; message: string; target: DialTarget }
  | { kind: "route-error"; message: string };

export interface HttpProxyOptions {
  dialer: Dialer;
  route: RouteFn;
  limits?: Partial<HeadLimits>;
  timeouts?: Partial<HttpTimeouts>;
  /** Options for the proxy's own pool; ignored when `pool` is given. */
  poolOptions?: Partial<PoolOptions>;
  /** A pool shared with other proxies (e.g. every service port of an agent). */
  pool?: UpstreamPool;
  /** Bytes read ahead of the current request (pipelining) before the client is paused. Default 64 KiB. */
  readAheadBytes?: number;
  onEvent?(event: ProxyEvent): void;
}

/** The settings a connection reads (resolved once per proxy). */
export interface ProxyContext {
  readonly route: RouteFn;
  readonly pool: UpstreamPool;
  readonly limits: HeadLimits;
  readonly timeouts: HttpTimeouts;
  readonly readAheadBytes: number;
  readonly onEvent: (event: ProxyEvent) => void;
  /** Open client connections, for the deadline timer. */
  readonly connections: Set<Expirable>;
  readonly stats: ProxyStats;
}

export interface ProxyStats {
  connections: number;
  requests: number;
  badRequests: number;
  upstreamErrors: number;
}

/** A connection with a deadline (0: none) that the proxy's timer enforces. */
export interface Expirable {
  deadline: number;
  expire(): void;
  destroy(): void;
}

export interface HttpProxy {
  /** Serves one inbound connection until it closes. */
  serve(inbound: Duplex, info: ConnectionInfo): void;
  readonly pool: UpstreamPool;
  readonly stats: Readonly<ProxyStats>;
  /** Open client connections. */
  readonly activeConnections: number;
  /** Closes every client connection, the timers and (if it owns it) the pool. */
  close(): void;
}
