// POST /api/v1/tokens: create a join token {ttl: "24h", uses: 1, description}.
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { parseDuration } from "../../manifest/duration.ts";
import type { Store } from "../../store/store.ts";
import { createJoinToken, joinTokenTtlProblem } from "../join-tokens.ts";
import { apiError, parseBody } from "./errors.ts";

const tokenRequest = z.strictObject({
  ttl: z.string().default("24h"),
  uses: z.number().int().min(1).max(100_000).default(1),
  description: z.string().max(200).default(""),
});

/** `guard`: the admin token and the body limit. */
export function mountTokenRoutes(api: Hono, store: Store, guard: MiddlewareHandler): void {
  api.post("/tokens", guard, async (c) => {
    const body = await parseBody(c, tokenRequest, "token request");
    const ttl = parseDuration(body.ttl);
    const problem = ttl.ok ? joinTokenTtlProblem(ttl.ms) : ttl.message;
    if (!ttl.ok || problem) {
      return apiError(c, 400, "invalid token request", [{ path: "ttl", message: problem ?? "invalid" }]);
    }
    const created = createJoinToken(store, {
      ttlMs: ttl.ms,
      uses: body.uses,
      description: body.description,
    });
    return c.json(created, 201);
  });
}
