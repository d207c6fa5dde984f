// The mesh on one node: turns the catalog (SQLite) and the local supervisor's workers into
// listeners and routing decisions, in two sides kept apart:
//   outbound (outbound/)  what a client reaches through this node's listeners: service ports,
//                         local upstream ports, the forward proxy;
//   inbound (inbound/)    what other agents send through the tunnel (direct or relayed) for a
//                         service on this node.
// Both hand traffic for this node's services to service-traffic.ts (one upstream pool, one set of
// balancers). Every decision is made in src/mesh/routing/ (pure); the bytes move in
// src/mesh/proxy/ and src/mesh/transport/. Service ports that the kernel can serve as well as the
// userspace path (src/mesh/fastpath/) are handed to the kernel after every refresh; their
// listeners stay up (IPv6, and the moment the kernel's rule goes).
import type { Duplex, LocalEndpoint } from "./contracts.ts";
import type { FastPath } from "./fastpath/fast-path.ts";
import { planFastPath } from "./fastpath/plan.ts";
import { Inbound, type StreamOrigin } from "./inbound/inbound.ts";
import { Outbound, type OutboundOptions } from "./outbound/outbound.ts";
import type { RouteStatus } from "./outbound/route-table.ts";
import { ServiceTraffic, type ServiceTrafficOptions } from "./service-traffic.ts";

/** The outbound side's listeners, what the traffic for this node's services needs, and: */
export interface MeshAgentOptions extends OutboundOptions, ServiceTrafficOptions {
  /** This node's workers (from the supervisor). */
  localWorkers: () => readonly LocalEndpoint[];
  /** Route status changed (reported to the cloud). */
  onRoutes?: (routes: MeshRoute[]) => void;
  /** The kernel's fast path for same-node service ports; none: all on the userspace path. */
  fastPath?: FastPath | undefined;
}

/** A route and, for a service port, which path carries its connections (kernel or userspace). */
export interface MeshRoute extends RouteStatus {
  path?: "kernel" | "userspace";
  /** Why it is on that path. */
  pathReason?: string;
}

export class MeshAgent {
  private readonly traffic: ServiceTraffic;
  private readonly outbound: Outbound;
  private readonly inbound: Inbound;
  private closed = false;

  constructor(private readonly options: MeshAgentOptions) {
    this.traffic = new ServiceTraffic(options);
    this.outbound = new Outbound(options, this.traffic);
    this.inbound = new Inbound(options.node, options.catalog, this.traffic);
  }

  /** Opens the forward proxy and converges the listeners to the catalog. */
  start(): void {
    this.outbound.start();
    this.refresh();
  }

  /** The catalog or the local workers changed: open and close listeners to match. */
  refresh(): void {
    if (this.closed) return;
    const local = this.options.localWorkers();
    this.traffic.setLocalWorkers(local);
    const catalog = this.options.catalog();
    if (!catalog) return;
    const changed = this.outbound.converge(catalog, this.traffic.localServices());
    this.traffic.retainServices(catalog.services.map((s) => s.name));
    this.options.fastPath?.update(
      planFastPath({
        services: catalog.services,
        local,
        listening: (service, port) => this.outbound.listening(service, port),
        bindAddress: this.options.bindHost,
      }),
    );
    if (changed) this.reportRoutes();
  }

  /** Reports the routes again (the fast path changed which ones the kernel carries). */
  reportRoutes(): void {
    if (!this.closed) this.options.onRoutes?.(this.routes());
  }

  routes(): MeshRoute[] {
    const fastPath = this.options.fastPath;
    return this.outbound.routes().map((route) => {
      if (route.kind !== "service-port" || route.state === "removed") return route;
      const note = fastPath
        ? fastPath.note(route.service)
        : { path: "userspace" as const, reason: "no fast path on this agent" };
      return { ...route, path: note.path, pathReason: note.reason };
    });
  }

  /**
   * A stream another agent sent through the tunnel for `service`: `forwarded` when a fallback
   * sent it (it is served here or refused, never forwarded again), else it is addressed to this
   * node (forward proxy, upstream port) and this node decides as for its own clients.
   */
  serveTunnelStream(service: string, stream: Duplex, from: StreamOrigin): void {
    this.inbound.serve(service, stream, from);
  }

  close(): void {
    this.closed = true;
    this.outbound.close();
    this.traffic.close();
  }
}
