// The mesh on one node: turns the catalog (SQLite) and the local supervisor's workers into
// listeners and routing decisions. Per catalog service a listener on <bind address>:<service
// port> (HTTP: per request; TCP: per connection), local upstream ports on loopback, the forward
// proxy on loopback, and the streams other agents send through the tunnel. Every decision is made
// in src/mesh/routing/ (pure); the bytes move in src/mesh/proxy/ and src/mesh/transport/.
import type { TCPSocketListener } from "bun";
import type { Logger } from "../runtime/log.ts";
import type { Catalog, Dialer, Duplex, LocalEndpoint } from "./contracts.ts";
import type {
  ConnectionInfo,
  RouteDecision as HttpDecision,
  HttpProxy,
  RequestHead,
} from "./proxy/http-proxy.ts";
import { createHttpProxy } from "./proxy/http-proxy.ts";
import { listenDuplex, type SocketDuplex } from "./proxy/socket-duplex.ts";
import { createTcpProxy, type TcpProxy, type TcpRouteDecision } from "./proxy/tcp-proxy.ts";
import { UpstreamPool } from "./proxy/upstream-pool.ts";
import { type DesiredRoute, desiredRoutes, type RouteStatus, RouteTable, routeId } from "./route-table.ts";
import type { MeshMetrics } from "./routing/metrics.ts";
import { BalancerRegistry } from "./routing/registry.ts";
import { decideRoute, ERROR_HEADER, type RouteDecision } from "./routing/route.ts";
import { targetOf } from "./routing/target.ts";

export interface MeshAgentOptions {
  node: string;
  log: Logger;
  /** Where service ports listen (the agent's bind address). */
  bindHost: string;
  /** Where the forward proxy and local upstream ports listen (the agent's loopback address). */
  loopbackHost: string;
  /** The forward proxy's port; 0: none. */
  proxyPort: number;
  catalog: () => Catalog | undefined;
  /** This node's workers (from the supervisor). */
  localWorkers: () => readonly LocalEndpoint[];
  /** Dials local workers and other nodes (through the tunnel). */
  dialer: Dialer;
  distance: (node: string) => number | undefined;
  metrics?: MeshMetrics | undefined;
  /** Route status changed (reported to the cloud). */
  onRoutes?: (routes: RouteStatus[]) => void;
}

const NO_ENDPOINTS: readonly LocalEndpoint[] = [];

/** Request fields the mesh reads and does not send on. */
const MESH_HEADERS = ["x-levee-node", "x-levee-debug"];

export class MeshAgent {
  private readonly table = new RouteTable();
  private readonly listeners = new Map<string, TCPSocketListener<SocketDuplex>>();
  private readonly balancers: BalancerRegistry;
  private readonly pool: UpstreamPool;
  private readonly httpProxies = new Map<string, HttpProxy>();
  private readonly tcpProxies = new Map<string, TcpProxy>();
  private forwardListener: TCPSocketListener<SocketDuplex> | undefined;
  private closed = false;
  /**
   * This node's workers by service as of the last refresh (the supervisor reports every phase and
   * readiness change, which refreshes): read per request, so it is not rebuilt per request (the
   * same array per request until the next refresh: the balancer caches).
   */
  private readonly localByService = new Map<string, LocalEndpoint[]>();

  constructor(private readonly options: MeshAgentOptions) {
    this.pool = new UpstreamPool(options.dialer);
    const metrics = options.metrics;
    this.balancers = new BalancerRegistry(
      metrics ? { observe: (service, node, protocol) => metrics.observer(service, node, protocol) } : {},
    );
  }

  /** Opens the forward proxy and converges the listeners to the catalog. */
  start(): void {
    const { proxyPort, loopbackHost } = this.options;
    if (proxyPort > 0) {
      const proxy = this.httpProxy("forward", (head) => this.forwardRoute(head));
      this.forwardListener = listenDuplex({ hostname: loopbackHost, port: proxyPort }, (duplex) =>
        proxy.serve(duplex, { remoteAddress: duplex.remoteAddress }),
      );
      this.options.log.info("mesh forward proxy listening", { address: `${loopbackHost}:${proxyPort}` });
    }
    this.refresh();
  }

  /** The catalog or the local workers changed: open and close listeners to match. */
  refresh(): void {
    if (this.closed) return;
    this.localByService.clear();
    for (const endpoint of this.options.localWorkers()) {
      const list = this.localByService.get(endpoint.service);
      if (list) list.push(endpoint);
      else this.localByService.set(endpoint.service, [endpoint]);
    }
    const catalog = this.options.catalog();
    if (!catalog) return;
    const local = new Set(this.localByService.keys());
    const { open, close } = this.table.setDesired(desiredRoutes(catalog, local));
    for (const route of close) this.closeRoute(route);
    for (const route of open) this.openRoute(route);
    this.balancers.retain(catalog.services.map((s) => s.name));
    if (open.length > 0 || close.length > 0) this.options.onRoutes?.(this.table.list());
  }

  routes(): RouteStatus[] {
    return this.table.list();
  }

  /**
   * A stream another agent sent through the tunnel for `service`: `forwarded` when a fallback
   * sent it (it is served here or refused, never forwarded again), else it is addressed to this
   * node (forward proxy, upstream port) and this node decides as for its own clients.
   */
  serveTunnelStream(service: string, stream: Duplex, peer: string, forwarded: boolean): void {
    const catalog = this.options.catalog();
    const entry = catalog?.services.find((s) => s.name === service);
    if (!entry) {
      stream.destroy(new Error(`unknown service ${service} on node ${this.options.node}`));
      return;
    }
    const hops = forwarded ? 1 : 0;
    const info: ConnectionInfo = { remoteAddress: `${peer} (tunnel)` };
    if (entry.protocol === "tcp") this.tcpProxy(service, hops).serve(stream, info);
    else this.serviceHttpProxy(service, hops).serve(stream, info);
  }

  close(): void {
    this.closed = true;
    for (const listener of this.listeners.values()) listener.stop(true);
    this.listeners.clear();
    this.forwardListener?.stop(true);
    for (const proxy of this.httpProxies.values()) proxy.close();
    for (const proxy of this.tcpProxies.values()) proxy.close();
    this.pool.close();
  }

  private openRoute(route: DesiredRoute): void {
    const id = routeId(route);
    const host = route.kind === "service-port" ? this.options.bindHost : this.options.loopbackHost;
    try {
      const listener = listenDuplex({ hostname: host, port: route.port }, (duplex) =>
        this.accept(route, duplex),
      );
      this.listeners.set(id, listener);
      this.table.applied(route, `listening on ${host}:${route.port}`);
    } catch (err) {
      const message = `cannot listen on ${host}:${route.port}: ${(err as Error & { code?: string }).code ?? (err as Error).message}`;
      this.table.failed(route, message);
      this.options.log.error("mesh route failed", {
        service: route.service,
        kind: route.kind,
        error: message,
      });
    }
  }

  private closeRoute(route: RouteStatus): void {
    const id = routeId(route);
    this.listeners.get(id)?.stop(true);
    this.listeners.delete(id);
  }

  private accept(route: DesiredRoute, duplex: SocketDuplex): void {
    const info: ConnectionInfo = { remoteAddress: duplex.remoteAddress };
    if (route.kind === "upstream" && route.target) {
      const target = route.target;
      this.tcpProxyTo(`upstream/${route.port}`, () =>
        this.upstreamDecision(target.service, target.node),
      ).serve(duplex, info);
      return;
    }
    if (route.protocol === "tcp") this.tcpProxy(route.service, 0).serve(duplex, info);
    else this.serviceHttpProxy(route.service, 0).serve(duplex, info);
  }

  /** The decision for traffic addressed to this node's port of `service`. */
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

  private serviceHttpProxy(service: string, hops: number): HttpProxy {
    return this.httpProxy(`service/${service}/${hops}`, (head) => {
      return this.toHttp(service, this.decide(service, hops), head.has("x-levee-debug"));
    });
  }

  private toHttp(service: string, decision: RouteDecision | undefined, debug: boolean): HttpDecision {
    if (!decision) return noCatalog(this.options.node);
    this.options.metrics?.decision(service, this.options.node, decision);
    if (decision.kind === "refuse") return respondError(decision.status, decision.header, decision.body);
    if (decision.kind === "forward") {
      return {
        kind: "dial",
        target: { ...decision.target, forwarded: true },
        removeHeaders: MESH_HEADERS,
        ...(debug ? { upstreamLabel: `${decision.node} (${decision.reason})` } : {}),
      };
    }
    return {
      kind: "dial",
      target: decision.target,
      removeHeaders: MESH_HEADERS,
      ...(debug ? { upstreamLabel: `${this.options.node}/${service}#${decision.target.index}` } : {}),
      done: decision.pick.done,
    };
  }

  /** Forward proxy: absolute-form, `<service>.<node>.levee`, X-Levee-Node, CONNECT. */
  private forwardRoute(head: RequestHead): HttpDecision {
    const catalog = this.options.catalog();
    if (!catalog) return noCatalog(this.options.node);
    const header = (name: string) => head.get(name);
    const found = targetOf(
      { method: head.method, target: head.target, host: header("host"), node: header("x-levee-node") },
      catalog,
    );
    if (!found.ok) return respondError(found.status, found.header, { error: found.error });
    const debug = header("x-levee-debug") !== undefined;
    if (found.node === this.options.node)
      return this.toHttp(found.service, this.decide(found.service, 0), debug);
    return {
      kind: "dial",
      target: { kind: "node", node: found.node, service: found.service },
      removeHeaders: MESH_HEADERS,
      ...(debug ? { upstreamLabel: `${found.node} (addressed)` } : {}),
    };
  }

  private upstreamDecision(service: string, node: string): TcpRouteDecision {
    if (node !== this.options.node) return { kind: "dial", target: { kind: "node", node, service } };
    return this.toTcp(service, this.decide(service, 0));
  }

  private tcpProxy(service: string, hops: number): TcpProxy {
    return this.tcpProxyTo(`service/${service}/${hops}`, () =>
      this.toTcp(service, this.decide(service, hops)),
    );
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

  private httpProxy(key: string, route: (head: RequestHead) => HttpDecision): HttpProxy {
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

  private tcpProxyTo(key: string, route: () => TcpRouteDecision): TcpProxy {
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
}

function noCatalog(node: string): HttpDecision {
  const error = `node ${node} has no mesh catalog yet (it has not reached the cloud since it joined)`;
  return respondError(503, error, { error, node });
}

/** The mesh's own answer: the error in the X-Levee-Error header and as a JSON body. */
function respondError(status: number, header: string, body: unknown): HttpDecision {
  return {
    kind: "respond",
    status,
    headers: { [ERROR_HEADER]: header, "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}
