// POST /api/v1/nodes/:name/cordon, /uncordon and /drain: whether the planner may put new
// nodeSelector workers on a node, and moving the ones it runs to the other matching nodes (new
// ones ready first). Workers pinned to the node by name stay; the drain's answer lists them.
// The state is durable (nodes.scheduling) and recorded as an event on the node.
import type { MiddlewareHandler } from "hono";
import type { ControlPlane } from "../control-plane.ts";
import type { Scheduling } from "../drain.ts";
import { apiError, notFound } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

const ACTIONS: { action: string; scheduling: Scheduling; summary: string; answer: string }[] = [
  {
    action: "cordon",
    scheduling: "cordoned",
    summary: "Cordon a node: no new nodeSelector workers go there (running ones stay)",
    answer: "{node, scheduling: cordoned, changed}",
  },
  {
    action: "uncordon",
    scheduling: "enabled",
    summary: "Uncordon a node: nodeSelector workers are placed there again",
    answer: "{node, scheduling: enabled, changed}",
  },
  {
    action: "drain",
    scheduling: "draining",
    summary:
      "Drain a node: cordon it and move its nodeSelector workers to the other matching nodes once theirs are ready; pinned ones stay",
    answer:
      "{node, scheduling: draining, changed, items: [{service, workers, state: pinned|moved|waiting|held, to?, waitingFor?, reason?}]}",
  },
];

/** `guard`: the admin token and the body limit. */
export function mountSchedulingRoutes(api: ApiRoutes, plane: ControlPlane, guard: MiddlewareHandler): void {
  for (const { action, scheduling, summary, answer } of ACTIONS) {
    const spec = {
      method: "post",
      path: `/nodes/:name/${action}`,
      summary,
      tag: "nodes",
      auth: "admin",
      params: { name: "the node" },
      responses: { 200: answer, 404: "no such node" },
    } as const;
    api.add(spec, guard, (c) => {
      const node = c.req.param("name");
      const done = plane.setScheduling(node, scheduling);
      if (!done) return apiError(c, 404, notFound("node", node));
      return c.json({
        node,
        scheduling,
        changed: done.changed,
        ...(scheduling === "draining" ? { items: done.items } : {}),
      });
    });
  }
}
