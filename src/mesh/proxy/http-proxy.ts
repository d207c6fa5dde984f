// The HTTP/1.1 proxy engine: serves inbound Duplexes (a client connection to a service port, a tunnel
// stream from another agent, a forward-proxy client), one request at a time with keep-alive, and asks
// route() for every request where it goes: dial a target (through the upstream pool), or answer here.
// The engine is composed, not layered: per client socket a ClientConnection (client-connection.ts)
// with its request parser (request-reader.ts); per request an Exchange (exchange.ts) that holds the
// request's and the response's state; per upstream socket an UpstreamConn from the pool
// (upstream-pool.ts) with its response parser (response-reader.ts); after CONNECT or 101 a Tunnel
// (tunnel.ts). The types are in http-types.ts. This file creates a proxy and runs the one timer
// that enforces the timeouts of all its connections.
import { ClientConnection } from "./client-connection.ts";
import { DEFAULT_LIMITS } from "./http-parser.ts";
import {
  DEFAULT_TIMEOUTS,
  type Expirable,
  type HttpProxy,
  type HttpProxyOptions,
  type ProxyContext,
  type ProxyStats,
} from "./http-types.ts";
import { UpstreamPool } from "./upstream-pool.ts";

export type { ProxyOutcome, UpstreamErrorKind } from "./dial-errors.ts";
export type { RequestHead } from "./http-parser.ts";
export type * from "./http-types.ts";
export { DEFAULT_TIMEOUTS } from "./http-types.ts";

const TICK_MS = 250;

export function createHttpProxy(options: HttpProxyOptions): HttpProxy {
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? new UpstreamPool(options.dialer, options.poolOptions);
  const connections = new Set<Expirable>();
  const stats: ProxyStats = { connections: 0, requests: 0, badRequests: 0, upstreamErrors: 0 };
  const context: ProxyContext = {
    route: options.route,
    pool,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    readAheadBytes: options.readAheadBytes ?? 64 * 1024,
    onEvent: options.onEvent ?? (() => {}),
    connections,
    stats,
  };
  // One coarse timer checks every connection's deadline (no timer per request).
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const conn of connections) if (conn.deadline !== 0 && conn.deadline <= now) conn.expire();
  }, TICK_MS);
  ticker.unref?.();
  return {
    serve(inbound, info) {
      stats.connections++;
      const conn = new ClientConnection(context, inbound, info);
      connections.add(conn);
      conn.start();
    },
    pool,
    stats,
    get activeConnections() {
      return connections.size;
    },
    close() {
      clearInterval(ticker);
      for (const conn of [...connections]) conn.destroy();
      if (ownPool) pool.close();
    },
  };
}
