// Traffic addressed to this node for one of its services, wherever it came from: a client of the
// service port (outbound), a stream through the tunnel (inbound), or this node's own forward proxy or
// upstream port naming this node. routing/route.ts decides (a ready worker here, balanced; a
// fallback forward to another node; a refusal) and the HTTP or TCP proxy carries it (src/mesh/proxy/):
// one proxy per service and hop count, all sharing one pool of upstream connections and one set of
// balancers, so that both sides count and balance the same workers.
import type { Logger } from "../runtime/log.ts";
import type { Catalog, Dialer, LocalEndpoint } from "./contracts.ts";
import type {
  ConnectionInfo,
  RouteDecision as HttpDecision,
  HttpProxy,
  RequestHead,
} from "./proxy/http-proxy.ts";
import { createHttpProxy } from "./proxy/http-proxy.ts";
import { createTcpProxy, type TcpProxy, type TcpRouteDecision } from "./proxy/tcp-proxy.ts";
import { UpstreamPool } from "./proxy/upstream-pool.ts";
import type { MeshCounters } from "./routing/metrics.ts";
import { BalancerRegistry } from "./routing/registry.ts";
import { decideRoute, ERROR_HEADER, type RouteDecision } from "./routing/route.ts";

export interface ServiceTrafficOptions {
  node: string;
  log: Logger;
  catalog: () => Catalog | undefined;
  /** Dials local workers and other nodes (through the tunnel). */
  dialer: Dialer;
  distance: (node: string) => number | undefined;
  /** Where the data path counts (MeshMetrics; a mesh thread's tally). */
  metrics?: MeshCounters | undefined;
  /**
   * The counters of the traffic that came through the tunnel from `peer` by `via` (the same object
   * for the same pair): the mesh adds each request (HTTP) or connection (TCP), its errors, and the
   * stream's bytes.
   */
  peerCounts?: ((peer: string, via: "direct" | "relay") => PeerLinkCounts) | undefined;
}

/** What came through the tunnel from one peer by one path (counted by the mesh, read by reports). */
export interface PeerLinkCounts {
  requests: number;
  /** Requests answered 5xx (the mesh's own refusals too) or failed; connections refused or broken. */
  errors: number;
  /** Bytes received from the peer and sent back to it on those streams. */
  bytesIn: number;
  bytesOut: number;
}

const NO_ENDPOINTS: readonly LocalEndpoint[] = [];

/** Request fields the mesh reads and does not send on. */
export const MESH_HEADERS = ["x-levee-node", "x-levee-debug"];

export class ServiceTraffic {
  readonly pool: UpstreamPool;
  private readonly balancers: BalancerRegistry;
  private readonly httpProxies = new Map<string, HttpProxy>();
  private readonly tcpProxies = new Map<string, TcpProxy>();
  /**
   * This node's workers by service as of the last refresh (the supervisor reports every phase and
   * readiness change, which refreshes): read per request, so it is not rebuilt per request (the
   * same array per request until the next refresh: the balancer caches).
   */
  private readonly localByService = new Map<string, LocalEndpoint[]>();

  constructor(private readonly options: ServiceTrafficOptions) {
    this.pool = new UpstreamPool(options.dialer);
    const metrics = options.metrics;
    this.balancers = new BalancerRegistry(
      metrics ? { observe: (service, node, protocol) => metrics.observer(service, node, protocol) } : {},
    );
  }

  /** This node's workers changed. */
  setLocalWorkers(endpoints: readonly LocalEndpoint[]): void {
    this.localByService.clear();
    for (const endpoint of endpoints) {
      const list = this.localByService.get(endpoint.service);
      if (list) list.push(endpoint);
      else this.localByService.set(endpoint.service, [endpoint]);
    }
  }

  /** The services with a worker on this node. */
  localServices(): Set<string> {
    return new Set(this.localByService.keys());
  }

  /** The catalog changed: balancers of services that are gone are dropped. */
  retainServices(names: string[]): void {
    this.balancers.retain(names);
  }

  /** The HTTP proxy for `service` (hops: fallback forwards this traffic already took). */
  http(service: string, hops: number): HttpProxy {
    return this.httpProxy(`service/${service}/${hops}`, (head, info) => {
      const decision = this.toHttp(service, this.decide(service, hops), head.has("x-levee-debug"));
      const link = info.peer && this.options.peerCounts?.(info.peer.node, info.peer.via);
      return link ? countHttp(link, decision) : decision;
    });
  }

  /** The TCP proxy for `service`. */
  tcp(service: string, hops: number): TcpProxy {
    return this.tcpProxy(`service/${service}/${hops}`, (info) => {
      const decision = this.toTcp(service, this.decide(service, hops));
      const link = info.peer && this.options.peerCounts?.(info.peer.node, info.peer.via);
      return link ? countTcp(link, decision) : decision;
    });
  }

  /** The counters of tunnel traffic from `peer` by `via`, if this node counts it. */
  peerLink(peer: string, via: "direct" | "relay"): PeerLinkCounts | undefined {
    return this.options.peerCounts?.(peer, via);
  }

  /** The decision for an HTTP request to this node's port of `service`. */
  httpDecision(service: string, debug: boolean): HttpDecision {
    return this.toHttp(service, this.decide(service, 0), debug);
  }

  /** The decision for a TCP connection to this node's port of `service`. */
  tcpDecision(service: string): TcpRouteDecision {
    return this.toTcp(service, this.decide(service, 0));
  }

  /** An HTTP proxy by key (made once), routing with `route`. */
  httpProxy(key: string, route: (head: RequestHead, info: ConnectionInfo) => HttpDecision): HttpProxy {
    let proxy = this.httpProxies.get(key);
    if (!proxy) {
      proxy = createHttpProxy({
        dialer: this.options.dialer,
        pool: this.pool,
        route,
        onEvent: (event) => this.options.log.debug("mesh http", { ...event }),
      });
      this.httpProxies.set(key, proxy);
    }
    return proxy;
  }

  /** A TCP proxy by key (made once), routing with `route`. */
  tcpProxy(key: string, route: (info: ConnectionInfo) => TcpRouteDecision): TcpProxy {
    let proxy = this.tcpProxies.get(key);
    if (!proxy) {
      proxy = createTcpProxy({
        dialer: this.options.dialer,
        route,
        onEvent: (event) => this.options.log.debug("mesh tcp", { ...event }),
      });
      this.tcpProxies.set(key, proxy);
    }
    return proxy;
  }

  close(): void {
    for (const proxy of this.httpProxies.values()) proxy.close();
    for (const proxy of this.tcpProxies.values()) proxy.close();
    this.pool.close();
  }

  private decide(service: string, hops: number): RouteDecision | undefined {
    const catalog = this.options.catalog();
    if (!catalog) return undefined;
    return decideRoute({
      self: this.options.node,
      catalog,
      service,
      local: this.localByService.get(service) ?? NO_ENDPOINTS,
      balancers: this.balancers,
      distance: this.options.distance,
      hops,
    });
  }

  private toHttp(service: string, decision: RouteDecision | undefined, debug: boolean): HttpDecision {
    const node = this.options.node;
    if (!decision) return noCatalog(node);
    this.options.metrics?.decision(service, node, decision);
    if (decision.kind === "refuse") return respondError(decision.status, decision.header, decision.body);
    if (decision.kind === "forward") {
      return {
        kind: "dial",
        target: { ...decision.target, forwarded: true },
        removeHeaders: MESH_HEADERS,
        ...(debug ? { upstreamLabel: `${decision.node} (${decision.reason})` } : {}),
      };
    }
    // Per request: no spread (a copy of the properties) when there is no debug label.
    const dial: HttpDecision = {
      kind: "dial",
      target: decision.target,
      removeHeaders: MESH_HEADERS,
      done: decision.pick.done,
    };
    if (debug) dial.upstreamLabel = `${node}/${service}#${decision.target.index}`;
    return dial;
  }

  private toTcp(service: string, decision: RouteDecision | undefined): TcpRouteDecision {
    if (!decision) return { kind: "refuse", reason: `node ${this.options.node} has no catalog yet` };
    this.options.metrics?.decision(service, this.options.node, decision);
    if (decision.kind === "refuse") return { kind: "refuse", reason: decision.error };
    if (decision.kind === "forward") {
      return { kind: "dial", target: { ...decision.target, forwarded: true } };
    }
    return { kind: "dial", target: decision.target, done: decision.pick.done };
  }
}

/** The answer while this node has no catalog. */
export function noCatalog(node: string): HttpDecision {
  const error = `node ${node} has no mesh catalog yet (it has not reached the cloud since it joined)`;
  return respondError(503, error, { error, node });
}

/** A tunnel request counted on its link: an error when answered 5xx or failed (not when the client left). */
function countHttp(link: PeerLinkCounts, decision: HttpDecision): HttpDecision {
  link.requests++;
  if (decision.kind === "respond") {
    if (decision.status >= 500) link.errors++;
    return decision;
  }
  const done = decision.done;
  return {
    ...decision,
    done: (outcome) => {
      if (outcome.error !== undefined || (outcome.status ?? 0) >= 500) link.errors++;
      done?.(outcome);
    },
  };
}

/** A tunnel connection counted on its link: an error when refused or broken by the upstream. */
function countTcp(link: PeerLinkCounts, decision: TcpRouteDecision): TcpRouteDecision {
  link.requests++;
  if (decision.kind === "refuse") {
    link.errors++;
    return decision;
  }
  const done = decision.done;
  return {
    ...decision,
    done: (outcome) => {
      if (outcome.error !== undefined) link.errors++;
      done?.(outcome);
    },
  };
}

/** The mesh's own answer: the error in the X-Levee-Error header and as a JSON body. */
export function respondError(status: number, header: string, body: unknown): HttpDecision {
  return {
    kind: "respond",
    status,
    headers: { [ERROR_HEADER]: header, "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}
