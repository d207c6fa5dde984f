// GET /api/v1/staging: what each node has fetched of the generations held back for staged
// Services (staging-store.ts), and PUT /api/v1/nodes/:name/bandwidth: the cap the cloud sets on a
// node's downloads (bytes/s, or none), which goes to the node in its plan and can only lower the
// node's own setting. The cap is durable (nodes.download_bandwidth) and recorded as an event.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { parseBandwidth } from "../../manifest/bandwidth.ts";
import type { Store } from "../../store/store.ts";
import type { ControlPlane } from "../control-plane.ts";
import { nodeExists } from "../link/sync-store.ts";
import { listStaging } from "../staging-store.ts";
import { apiError, notFound, parseBody, parseQuery } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

const stagingQuery = z.object({
  node: z.string().optional().describe("only this node's staging"),
  service: z.string().optional().describe("only this service's staging (its key: name or name.namespace)"),
});

const bandwidthBody = z.object({
  bandwidth: z
    .union([z.string(), z.null()])
    .describe("the cap, e.g. 1MiB/s, 512KiB/s or 1048576 (bytes/s); null: no cap from the cloud"),
});

/** `guard`: the admin token and the body limit. */
export function mountStagingRoutes(
  api: ApiRoutes,
  store: Store,
  plane: ControlPlane,
  guard: MiddlewareHandler,
): void {
  const stagingSpec = {
    method: "get",
    path: "/staging",
    summary: "What each node has fetched of the generations staged Services hold back",
    tag: "workers",
    auth: "admin",
    query: stagingQuery,
    responses: {
      200: "{items: [{node, service, generation, fetched, total, state: waiting|fetching|ready|failed|switched, held, message, updatedAt}]}",
    },
  } as const;
  api.add(stagingSpec, guard, (c) => {
    const { node, service } = parseQuery(c, stagingQuery);
    if (node && !nodeExists(store, node)) return apiError(c, 404, notFound("node", node));
    return c.json({
      items: listStaging(store.db, { ...(node ? { node } : {}), ...(service ? { service } : {}) }),
    });
  });

  const bandwidthSpec = {
    method: "put",
    path: "/nodes/:name/bandwidth",
    summary: "Set the cap on a node's artifact downloads (the node's own setting can only be lower)",
    tag: "nodes",
    auth: "admin",
    params: { name: "the node" },
    body: { json: bandwidthBody },
    responses: { 200: "{node, bandwidth: bytes/s or null, changed}", 404: "no such node" },
  } as const;
  api.add(bandwidthSpec, guard, async (c) => {
    const node = c.req.param("name");
    const body = await parseBody(c, bandwidthBody, "bandwidth");
    let bytesPerSecond: number | null = null;
    if (body.bandwidth !== null) {
      const parsed = parseBandwidth(body.bandwidth);
      if (!parsed.ok) return apiError(c, 400, `bandwidth: ${parsed.error}`);
      bytesPerSecond = parsed.bytesPerSecond;
    }
    const done = plane.setBandwidth(node, bytesPerSecond);
    if (!done) return apiError(c, 404, notFound("node", node));
    return c.json({ node, bandwidth: bytesPerSecond, changed: done.changed });
  });
}
