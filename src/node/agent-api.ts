// The local agent API, on loopback unless --agent-address moves it (who may call what:
// agent-auth.ts), served by every agent, cloud included, since the cloud is a node too. /healthz
// and /readyz, and /v1/plan (the plan this node runs, from its SQLite: it answers with or without
// the cloud; env values and Config data redacted unless the caller sends the agent token),
// /v1/workers (this node's workers: phase, readiness, port, pid, restarts). The discovery and
// route-status endpoints of later parts mount here as well. A method a path does not serve is a
// 405 with Allow.
import { Hono } from "hono";
import { type DiscoverySource, mountDiscoveryRoutes } from "../mesh/discovery-api.ts";
import { AllowedMethods, methodNotAllowedMessage } from "../runtime/allowed-methods.ts";
import { mountHealthRoutes, type Readiness } from "../runtime/health.ts";
import type { HostPort } from "../runtime/host-port.ts";
import { type Server, serveHttp } from "../runtime/serve.ts";
import type { Store } from "../store/store.ts";
import { AGENT_TOKEN_FILE, hasAgentToken, requireAgentTokenOffLoopback } from "./agent-auth.ts";
import { readStoredPlan } from "./link/plan-store.ts";
import { redactPlan } from "./plan-redaction.ts";
import type { Supervisor } from "./workers/supervisor.ts";

export interface AgentApiOptions {
  readiness: Readiness;
  /** Shown by /healthz and /readyz: mode, node, version. */
  identity: Record<string, string>;
  store: Store;
  /** The supervisor once the node has joined; undefined before. */
  workers: () => Supervisor | undefined;
  /** Required off loopback, and to see /v1/plan unredacted. */
  agentToken: string;
  discovery?: DiscoverySource | undefined;
}

export function agentApiApp(options: AgentApiOptions): Hono {
  const { readiness, identity, store, workers, agentToken, discovery } = options;
  const app = new Hono();
  app.use(requireAgentTokenOffLoopback(agentToken));
  mountHealthRoutes(app, readiness, identity);
  app.get("/v1/plan", (c) => {
    const plan = readStoredPlan(store);
    if (!plan)
      return c.json(
        { error: "this node has no plan yet (it has not reached the cloud since it joined)" },
        404,
      );
    if (hasAgentToken(c, agentToken)) return c.json(plan);
    return c.json({
      ...plan,
      plan: redactPlan(plan.plan),
      redacted: `env values are shown as their size and Config file hashes are hidden; send Authorization: Bearer <the token in <data-dir>/${AGENT_TOKEN_FILE}> to see them`,
    });
  });
  app.get("/v1/workers", (c) => {
    const supervisor = workers();
    if (!supervisor)
      return c.json({ error: "this node has not joined the cloud yet: it runs no workers" }, 404);
    const service = c.req.query("service");
    const items = supervisor.snapshot().filter((w) => service === undefined || w.service === service);
    return c.json({ items });
  });
  if (discovery) mountDiscoveryRoutes(app, discovery);
  const allowed = new AllowedMethods(() => app.routes);
  app.notFound((c) => {
    const methods = allowed.at(c.req.path);
    if (methods.length === 0)
      return c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404);
    c.header("Allow", methods.join(", "));
    return c.json({ error: methodNotAllowedMessage(c.req.method, c.req.path, methods) }, 405);
  });
  return app;
}

export function startAgentApi(address: HostPort, options: AgentApiOptions): Server {
  const app = agentApiApp(options);
  return serveHttp("local agent API, --agent-port", address, app.fetch);
}
