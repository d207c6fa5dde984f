// Rollout routes of the kinds whose generations are kept (src/cloud/history-store.ts):
//   GET  /api/v1/PLURAL/NAME/history   the kept generations, newest first, with what each changed
//   POST /api/v1/PLURAL/NAME/undo      apply a kept generation's spec again, as a new generation
//                                      (?toGeneration=N; else the one before the current;
//                                      ?dryRun=true: what it would do, nothing stored)
// for services, jointmultiedgeservices and runtimeservices. The undo answers as POST /apply does.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Store } from "../../store/store.ts";
import type { ControlPlane } from "../control-plane.ts";
import { rollbackManifest, rolloutHistory } from "../rollout.ts";
import { parseQuery } from "./errors.ts";
import { objectParams, objectQuery } from "./object-params.ts";
import type { ApiRoutes } from "./route-registry.ts";

/** The plural in the path → the kind. */
export const ROLLOUT_PLURALS: Record<string, string> = {
  services: "Service",
  jointmultiedgeservices: "JointMultiEdgeService",
  runtimeservices: "RuntimeService",
};

const undoQuery = objectQuery.extend({
  toGeneration: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "expected a generation number (1, 2, ...)")
    .optional()
    .describe("the kept generation to go back to (default: the one before the current)"),
  dryRun: z
    .enum(["true", "false"], { error: "expected true or false" })
    .optional()
    .describe("true: answer what the undo would do and store nothing"),
});

/** `guard`: the admin token and the body limit. */
export function mountRolloutRoutes(
  api: ApiRoutes,
  store: Store,
  plane: ControlPlane,
  guard: MiddlewareHandler,
): void {
  for (const [plural, kind] of Object.entries(ROLLOUT_PLURALS)) {
    const one = {
      tag: "rollout",
      auth: "admin",
      params: { name: `the ${kind}'s name` },
    } as const;
    const history = {
      ...one,
      method: "get",
      path: `/${plural}/:name/history`,
      summary: `The kept generations of a ${kind}, newest first`,
      query: objectQuery,
      responses: {
        200: "{kind, name, namespace?, generation, items: [{generation, appliedAt, current, changes?}]}",
        404: "no such object",
      },
    } as const;
    api.add(history, guard, (c) => {
      const { key } = objectParams(kind, c.req.param("name"), parseQuery(c, objectQuery).namespace);
      return c.json(rolloutHistory(store.db, kind, key));
    });
    const undo = {
      ...one,
      method: "post",
      path: `/${plural}/:name/undo`,
      summary: `Roll a ${kind} back to a kept generation (applied as a new generation)`,
      query: undoQuery,
      responses: {
        200: "as POST /apply: {results, nodes, dryRun?}",
        404: "no such object, or the generation is not kept",
        409: "made from a Dayu object (roll back that one), or refused as an apply would be",
      },
    } as const;
    api.add(undo, guard, (c) => {
      const query = parseQuery(c, undoQuery);
      const { key } = objectParams(kind, c.req.param("name"), query.namespace);
      const to = query.toGeneration === undefined ? undefined : Number(query.toGeneration);
      const object = rollbackManifest(store.db, kind, key, to);
      const dryRun = query.dryRun === "true";
      const { results, nodes } = plane.applyPlan([object], { dryRun });
      return c.json({ results, nodes, ...(dryRun ? { dryRun: true } : {}) });
    });
  }
}
