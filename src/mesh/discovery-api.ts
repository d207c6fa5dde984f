// The local discovery API, on every agent's loopback API (LEVEE_AGENT_URL): what
// a Dayu component used to list from the Kubernetes API. Answers from the catalog in SQLite, with
// this node's own workers taken from its supervisor (fresher than the cloud's view), so it works
// while the cloud is unreachable.
//   GET /v1/catalog          nodes (addresses, role, labels, state) and services (port, workers)
//   GET /v1/nodes            the nodes
//   GET /v1/services/NAME    one service: its port and where its workers run, ready or not
//   GET /v1/routes[/SERVICE] this node's routes: pending → applied (or failed) → removed; a service
//                            port's route says which path carries it (path: kernel, the fast path,
//                            or userspace; pathReason: why)
import type { Hono } from "hono";
import type { Catalog, CatalogService } from "./contracts.ts";
import type { RouteStatus } from "./outbound/route-table.ts";

export interface DiscoverySource {
  /** This node's name (once joined). */
  node(): string | undefined;
  catalog(): Catalog | undefined;
  /** This node's workers: service, index, ready, port. */
  localWorkers(): { service: string; index: number; ready: boolean; port: number | null }[];
  /** This node's mesh routes, once the mesh runs. */
  routes(): RouteStatus[] | undefined;
  /** Prometheus text of the agent's metrics. */
  metrics?(): Promise<string>;
}

const NO_CATALOG = "this node has no catalog yet (it has not reached the cloud since it joined)";
const NO_MESH = "the mesh of this node is not running yet (it has not joined the cloud)";

export function mountDiscoveryRoutes(app: Hono, source: DiscoverySource): void {
  app.get("/v1/catalog", (c) => {
    const view = currentView(source);
    if (!view) return c.json({ error: NO_CATALOG }, 404);
    return c.json(view);
  });
  app.get("/v1/nodes", (c) => {
    const view = currentView(source);
    if (!view) return c.json({ error: NO_CATALOG }, 404);
    return c.json({ items: view.nodes });
  });
  app.get("/metrics", async (c) => {
    if (!source.metrics) return c.text("no metrics\n", 404);
    return c.text(await source.metrics(), 200, { "content-type": "text/plain; version=0.0.4" });
  });
  app.get("/v1/routes", (c) => {
    const routes = source.routes();
    if (!routes) return c.json({ error: NO_MESH }, 503);
    return c.json({ items: routes });
  });
  app.get("/v1/routes/:service", (c) => {
    const routes = source.routes();
    if (!routes) return c.json({ error: NO_MESH }, 503);
    const service = c.req.param("service");
    const items = routes.filter((r) => r.service === service);
    if (items.length === 0)
      return c.json(
        { error: `node ${source.node()} has no route for service ${JSON.stringify(service)}` },
        404,
      );
    return c.json({ items });
  });
  app.get("/v1/services/:name", (c) => {
    const view = currentView(source);
    if (!view) return c.json({ error: NO_CATALOG }, 404);
    const name = c.req.param("name");
    const service = view.services.find((s) => s.name === name);
    if (!service) {
      return c.json(
        {
          error: `no service ${JSON.stringify(name)} with a mesh port in the catalog (revision ${view.revision})`,
        },
        404,
      );
    }
    return c.json(service);
  });
}

export interface ServiceView extends Omit<CatalogService, "workers"> {
  workers: { node: string; index: number; ready: boolean; port?: number | null }[];
}

/** The catalog with this node's workers replaced by the supervisor's view (ports included). */
export function currentView(
  source: DiscoverySource,
): (Omit<Catalog, "services"> & { node: string | undefined; services: ServiceView[] }) | undefined {
  const catalog = source.catalog();
  if (!catalog) return undefined;
  const self = source.node();
  if (!self) return { ...catalog, node: self, services: catalog.services };
  const local = source.localWorkers();
  const services = catalog.services.map((s): ServiceView => {
    const mine = local
      .filter((w) => w.service === s.name)
      .map((w) => ({ node: self, index: w.index, ready: w.ready, port: w.port }));
    const others = s.workers.filter((w) => w.node !== self);
    const workers = [...others, ...mine].sort((a, b) => a.node.localeCompare(b.node) || a.index - b.index);
    return { ...s, workers };
  });
  return { ...catalog, node: self, services };
}
