// The mesh's outbound side on one node: what a client reaches through this node's listeners.
//   service ports     <bind address>:<mesh.port> of every catalog service; HTTP per request, TCP
//                     per connection, to a ready worker here or the service's fallback
//                     (service-traffic.ts);
//   upstream ports    <loopback>:<localPort> that services running here declare, leading to a
//                     service on a named node (this one: as its service port; another: through the
//                     tunnel, where that node's inbound side takes it);
//   forward proxy     <loopback>:<proxy port>, for workers with meshProxy: the node a request
//                     addresses (routing/target.ts) serves it.
// Listeners follow the catalog and the local workers (route-table.ts keeps their states). What
// arrives from other nodes is the inbound side's (src/mesh/inbound/).
import type { TCPSocketListener } from "bun";
import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Catalog } from "../contracts.ts";
import type { ConnectionInfo, RouteDecision as HttpDecision, RequestHead } from "../proxy/http-proxy.ts";
import type { SocketDuplex } from "../proxy/socket-duplex.ts";
import { listenDuplex } from "../proxy/socket-listen-connect.ts";
import type { TcpRouteDecision } from "../proxy/tcp-proxy.ts";
import { targetOf } from "../routing/target.ts";
import { MESH_HEADERS, noCatalog, respondError, type ServiceTraffic } from "../service-traffic.ts";
import { type DesiredRoute, desiredRoutes, type RouteStatus, RouteTable, routeId } from "./route-table.ts";

export interface OutboundOptions {
  node: string;
  log: Logger;
  /** Where service ports listen (the agent's bind address). */
  bindHost: string;
  /** Where the forward proxy and local upstream ports listen (the agent's loopback address). */
  loopbackHost: string;
  /** The forward proxy's port; 0: none. */
  proxyPort: number;
  catalog: () => Catalog | undefined;
  /** Service and upstream ports with SO_REUSEPORT (other mesh threads listen on them too). */
  reusePort?: boolean | undefined;
  /** A service-port or upstream listener accepted a connection (counted per mesh thread). */
  onAccept?: (() => void) | undefined;
}

export class Outbound {
  private readonly table = new RouteTable();
  private readonly listeners = new Map<string, TCPSocketListener<SocketDuplex>>();
  private forwardListener: TCPSocketListener<SocketDuplex> | undefined;

  constructor(
    private readonly options: OutboundOptions,
    private readonly traffic: ServiceTraffic,
  ) {}

  /** Opens the forward proxy. */
  start(): void {
    const { proxyPort, loopbackHost } = this.options;
    if (proxyPort <= 0) return;
    const proxy = this.traffic.httpProxy("forward", (head) => this.forwardRoute(head));
    this.forwardListener = listenDuplex({ hostname: loopbackHost, port: proxyPort }, (duplex) =>
      proxy.serve(duplex, { remoteAddress: duplex.remoteAddress }),
    );
    this.options.log.info("mesh forward proxy listening", { address: `${loopbackHost}:${proxyPort}` });
  }

  /**
   * Opens and closes listeners to match the catalog and the services with a worker here; whether
   * any route was opened or closed.
   */
  converge(catalog: Catalog, localServices: ReadonlySet<string>): boolean {
    const { open, close } = this.table.setDesired(desiredRoutes(catalog, localServices));
    for (const route of close) this.closeRoute(route);
    for (const route of open) this.openRoute(route);
    return open.length > 0 || close.length > 0;
  }

  routes(): RouteStatus[] {
    return this.table.list();
  }

  /** Whether the service port of `service` listens here. */
  listening(service: string, port: number): boolean {
    return this.listeners.has(routeId({ kind: "service-port", service, port }));
  }

  close(): void {
    for (const listener of this.listeners.values()) listener.stop(true);
    this.listeners.clear();
    this.forwardListener?.stop(true);
  }

  private openRoute(route: DesiredRoute): void {
    const id = routeId(route);
    const host = route.kind === "service-port" ? this.options.bindHost : this.options.loopbackHost;
    try {
      const onAccept = this.options.onAccept;
      const listener = listenDuplex(
        { hostname: host, port: route.port, reusePort: this.options.reusePort === true },
        (duplex) => {
          onAccept?.();
          this.accept(route, duplex);
        },
      );
      this.listeners.set(id, listener);
      this.table.applied(route, `listening on ${host}:${route.port}`);
    } catch (err) {
      const message = `cannot listen on ${host}:${route.port}: ${(err as { code?: string }).code ?? describeError(err)}`;
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
      this.traffic
        .tcpProxy(`upstream/${route.port}`, () => this.upstreamDecision(target.service, target.node))
        .serve(duplex, info);
      return;
    }
    if (route.protocol === "tcp") this.traffic.tcp(route.service, 0).serve(duplex, info);
    else this.traffic.http(route.service, 0).serve(duplex, info);
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
    if (found.node === this.options.node) return this.traffic.httpDecision(found.service, debug);
    return {
      kind: "dial",
      target: { kind: "node", node: found.node, service: found.service },
      removeHeaders: MESH_HEADERS,
      ...(debug ? { upstreamLabel: `${found.node} (addressed)` } : {}),
    };
  }

  private upstreamDecision(service: string, node: string): TcpRouteDecision {
    if (node !== this.options.node) return { kind: "dial", target: { kind: "node", node, service } };
    return this.traffic.tcpDecision(service);
  }
}
