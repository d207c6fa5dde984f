// Which routes this node's outbound side must serve and how far each one is. A route is a listener:
// the service port of every catalog service on this node's address, and the local upstream ports
// (127.0.0.1:localPort) that services running here declare. Each route goes pending (wanted, not
// listening yet) → applied (listening) or failed (with the cause) → removed (no longer wanted; kept
// for a while so a caller sees it went). Pure: the outbound side (outbound.ts) binds and closes
// listeners and reports back; this module only keeps the books.
import type { Catalog } from "../contracts.ts";

export type RouteKind = "service-port" | "upstream";
export type RouteState = "pending" | "applied" | "failed" | "removed";

export interface RouteKey {
  kind: RouteKind;
  service: string;
  /** Service port (on the node's address) or upstream local port (on 127.0.0.1). */
  port: number;
}

export interface DesiredRoute extends RouteKey {
  /** Upstream routes: where the local port leads. */
  target?: { service: string; node: string };
  protocol: "http" | "tcp";
}

export interface RouteStatus extends DesiredRoute {
  state: RouteState;
  message: string;
  /** When the state last changed. */
  since: string;
}

/** How long a removed route stays listed. */
export const REMOVED_KEPT_MS = 10 * 60_000;

export function routeId(key: RouteKey): string {
  return `${key.kind}/${key.service}/${key.port}`;
}

/** The routes a catalog asks of node `self`, which runs workers of `localServices`. */
export function desiredRoutes(catalog: Catalog, localServices: ReadonlySet<string>): DesiredRoute[] {
  const routes: DesiredRoute[] = [];
  const protocolOf = new Map(catalog.services.map((s) => [s.name, s.protocol]));
  for (const service of catalog.services) {
    routes.push({
      kind: "service-port",
      service: service.name,
      port: service.port,
      protocol: service.protocol,
    });
  }
  for (const service of catalog.services) {
    if (!localServices.has(service.name)) continue;
    for (const up of service.upstreams) {
      routes.push({
        kind: "upstream",
        service: service.name,
        port: up.localPort,
        target: { service: up.service, node: up.node },
        protocol: protocolOf.get(up.service) ?? "tcp",
      });
    }
  }
  // Two services declaring the same local port: the first (by name) keeps it.
  const seen = new Set<string>();
  return routes.filter((r) => {
    const key = `${r.kind}/${r.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The books: desired routes in, status transitions out. */
export class RouteTable {
  private readonly routes = new Map<string, RouteStatus>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Sets what is wanted; returns the routes to open (new) and to close (no longer wanted). */
  setDesired(desired: DesiredRoute[]): { open: DesiredRoute[]; close: RouteStatus[] } {
    const wanted = new Map(desired.map((r) => [routeId(r), r]));
    const open: DesiredRoute[] = [];
    const close: RouteStatus[] = [];
    for (const [id, route] of this.routes) {
      if (route.state === "removed") continue;
      const next = wanted.get(id);
      if (!next || !sameTarget(route, next)) {
        close.push(route);
        this.set(id, { ...route, state: "removed", message: next ? "replaced" : "no longer in the catalog" });
      }
    }
    for (const [id, route] of wanted) {
      const current = this.routes.get(id);
      if (current && current.state !== "removed") continue;
      open.push(route);
      this.set(id, { ...route, state: "pending", message: "opening the listener" });
    }
    this.expire();
    return { open, close };
  }

  applied(key: RouteKey, message = "listening"): void {
    this.transition(key, "applied", message);
  }

  failed(key: RouteKey, message: string): void {
    this.transition(key, "failed", message);
  }

  list(): RouteStatus[] {
    this.expire();
    return [...this.routes.values()].sort(
      (a, b) => a.service.localeCompare(b.service) || a.kind.localeCompare(b.kind) || a.port - b.port,
    );
  }

  private transition(key: RouteKey, state: RouteState, message: string): void {
    const id = routeId(key);
    const route = this.routes.get(id);
    if (!route || route.state === "removed") return;
    this.set(id, { ...route, state, message });
  }

  private set(id: string, route: Omit<RouteStatus, "since"> & { since?: string }): void {
    const before = this.routes.get(id);
    const since = before && before.state === route.state ? before.since : this.now().toISOString();
    this.routes.set(id, { ...route, since } as RouteStatus);
  }

  private expire(): void {
    const limit = this.now().getTime() - REMOVED_KEPT_MS;
    for (const [id, route] of this.routes) {
      if (route.state === "removed" && Date.parse(route.since) < limit) this.routes.delete(id);
    }
  }
}

function sameTarget(a: DesiredRoute, b: DesiredRoute): boolean {
  return (
    a.protocol === b.protocol && a.target?.service === b.target?.service && a.target?.node === b.target?.node
  );
}
