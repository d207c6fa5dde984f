// The local agent API: loopback only (see --bind-address), served by every agent, cloud
// included, since the cloud is a node too. Today it answers /healthz and /readyz; the discovery
// and route-status endpoints of later parts mount here as well.
import { Hono } from "hono";
import type { HostPort } from "../config/host-port.ts";
import { mountHealthRoutes, type Readiness } from "../runtime/health.ts";
import { type Server, serveHttp } from "../runtime/serve.ts";

export function agentApiApp(readiness: Readiness, identity: Record<string, string>): Hono {
  const app = new Hono();
  mountHealthRoutes(app, readiness, identity);
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

export function startAgentApi(
  address: HostPort,
  readiness: Readiness,
  identity: Record<string, string>,
): Server {
  const app = agentApiApp(readiness, identity);
  return serveHttp("local agent API, --agent-port", address, app.fetch);
}
