// POST /api/v1/tokens: create a join token {ttl: "24h", uses: 1, description}.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { parseDuration } from "../../manifest/duration.ts";
import type { Store } from "../../store/store.ts";
import { createJoinToken, joinTokenTtlProblem } from "../join-tokens.ts";
import { apiError, parseBody } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";

const tokenRequest = z.strictObject({
  ttl: z.string().default("24h"),
  uses: z.number().int().min(1).max(100_000).default(1),
  description: z.string().max(200).default(""),
});

/** `guard`: the admin token and the body limit. */
export function mountTokenRoutes(api: ApiRoutes, store: Store, guard: MiddlewareHandler): void {
  const spec = {
    method: "post",
    path: "/tokens",
    summary: "Create a join token",
    tag: "nodes",
    auth: "admin",
    body: { json: tokenRequest },
    responses: { 201: "{id, token, expiresAt, uses}" },
  } as const;
  api.add(spec, guard, async (c) => {
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
