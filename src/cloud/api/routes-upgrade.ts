// Agent upgrade rollouts (levee ctl upgrade; src/cloud/upgrade/):
//   POST /api/v1/upgrades            start one (the binaries are artifacts already)
//   GET  /api/v1/upgrades/current    the running or paused one, else the newest: per node state
//   POST /api/v1/upgrades/current/ACTION   pause, resume or abort it
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { MAX_UPGRADE_BINARIES, upgradeBinarySchema } from "../../protocol/upgrade.ts";
import type { UpgradeDriver } from "../upgrade/upgrade-driver.ts";
import { apiError, parseBody } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

const upgradeRequest = z.object({
  version: z.string().min(1).max(64).describe("the version the binaries report (levee version)"),
  binaries: z
    .array(upgradeBinarySchema.pick({ target: true, sha256: true }))
    .min(1)
    .max(MAX_UPGRADE_BINARIES)
    .describe("one pushed artifact per build target"),
  selector: z.string().max(4096).optional().describe("only the nodes whose labels match"),
  maxUnavailable: z.string().max(16).optional().describe("nodes upgraded at once: N or P% (default 1)"),
  pause: z.string().max(32).optional().describe("wait between batches, e.g. 30s (default 0s)"),
  timeout: z.string().max(32).optional().describe("each node's health gate, e.g. 120s (the default)"),
  allowDowngrade: z.boolean().optional().describe("allow an older version than a node runs"),
  includeCloud: z.boolean().optional().describe("upgrade the cloud's own node too (last)"),
});

const STATUS =
  "{rollout: {id, version, state, reason, targets, maxUnavailable, ...}, nodes: [{node, state, from, to, reason}]}";

export function mountUpgradeRoutes(api: ApiRoutes, driver: UpgradeDriver, guard: MiddlewareHandler): void {
  const base = { tag: "upgrades", auth: "admin" } as const;
  api.add(
    {
      ...base,
      method: "post",
      path: "/upgrades",
      summary: "Start upgrading the agents of the matching nodes, in batches, each behind a health gate",
      body: { json: upgradeRequest },
      responses: {
        201: STATUS,
        409: "a rollout is running, no node matches, or a downgrade was not allowed",
      },
    },
    guard,
    async (c) => {
      const body = await parseBody(c, upgradeRequest, "upgrade request");
      return c.json(driver.create(body), 201);
    },
  );
  api.add(
    {
      ...base,
      method: "get",
      path: "/upgrades/current",
      summary: "The running or paused upgrade rollout, else the newest, with each node's progress",
      responses: { 200: STATUS, 404: "no rollout yet" },
    },
    guard,
    (c) => {
      const status = driver.status();
      return status ? c.json(status) : apiError(c, 404, "no upgrade rollout yet");
    },
  );
  api.add(
    {
      ...base,
      method: "post",
      path: "/upgrades/current/:action",
      summary: "Pause, resume or abort the running upgrade rollout",
      params: { action: "pause, resume or abort" },
      responses: { 200: STATUS, 404: "no such action", 409: "no rollout is running or paused" },
    },
    guard,
    (c) => {
      const action = c.req.param("action");
      if (action !== "pause" && action !== "resume" && action !== "abort")
        return apiError(c, 404, `no upgrade action "${action}": pause, resume or abort`);
      return c.json(driver.control(action));
    },
  );
}
