// POST /api/v1/workers/restart {service, node, index}: restarts one worker of a node's current plan
// (service by key: `name`, or `name.namespace` outside default) as desired state: the node replaces
// the instance when it gets the plan, at once or when it is connected again. 404 names what is not
// there (the node, the service on it, the index).
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { dnsSubdomain } from "../../manifest/meta.ts";
import type { Store } from "../../store/store.ts";
import type { ControlPlane } from "../control-plane.ts";
import { plannedWorker } from "../worker-restarts.ts";
import { apiError, parseBody } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

const restartRequest = z.strictObject({
  service: dnsSubdomain,
  node: dnsSubdomain,
  index: z.number().int().min(0).max(1_000_000),
});

/** `guard`: the admin token and the body limit. */
export function mountWorkerRestartRoute(
  api: ApiRoutes,
  store: Store,
  plane: ControlPlane,
  guard: MiddlewareHandler,
): void {
  const spec = {
    method: "post",
    path: "/workers/restart",
    summary: "Restart one worker (as desired state: the node replaces it when it gets the plan)",
    tag: "workers",
    auth: "admin",
    body: { json: restartRequest },
    responses: { 200: "{restarted: {service, node, index}}", 404: "no such node, service or worker" },
  } as const;
  api.add(spec, guard, async (c) => {
    const { service, node, index } = await parseBody(c, restartRequest, "restart request");
    if (plane.restartWorker(service, node, index) === "restarted")
      return c.json({ restarted: { service, node, index } });
    const lookup = plannedWorker(store.db, service, node, index);
    return apiError(c, 404, lookup.found ? `worker ${service}/${node}/${index} not found` : lookup.missing);
  });
}
