// POST /api/v1/tokens: create a join token {ttl: "24h", uses: 1, description}.
import type { Hono } from "hono";
import { z } from "zod";
import { parseDuration } from "../../api/duration.ts";
import type { Store } from "../../store/store.ts";
import { createJoinToken } from "../join-tokens.ts";
import { apiError, formatPath, readJson } from "./errors.ts";

const tokenRequest = z.strictObject({
  ttl: z.string().default("24h"),
  uses: z.number().int().min(1).max(100_000).default(1),
  description: z.string().max(200).default(""),
});

export function mountTokenRoutes(api: Hono, store: Store): void {
  api.post("/tokens", async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const parsed = tokenRequest.safeParse(body.value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
      return apiError(c, 400, "invalid token request", issues);
    }
    const ttl = parseDuration(parsed.data.ttl);
    if (!ttl.ok || ttl.ms <= 0) {
      return apiError(c, 400, "invalid token request", [
        { path: "ttl", message: ttl.ok ? "must be positive" : ttl.message },
      ]);
    }
    const created = createJoinToken(store, {
      ttlMs: ttl.ms,
      uses: parsed.data.uses,
      description: parsed.data.description,
    });
    return c.json(created, 201);
  });
}
