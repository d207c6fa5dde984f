// Bearer-token authentication of the cloud API's admin routes and metrics routes (app.ts attaches it to each of them;
// the join carries its own join token in the body, nodes use their credentials: node-auth.ts).
import type { MiddlewareHandler } from "hono";
import { bearerToken } from "../../runtime/token-file.ts";
import { tokenMatches } from "../admin-token.ts";
import { apiError } from "./errors.ts";

export function requireAdminToken(adminToken: string): MiddlewareHandler {
  return requireAnyToken([adminToken]);
}

/** Any of `tokens` (e.g. the metrics routes: the admin token or the read-only metrics token). */
export function requireAnyToken(tokens: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (token === undefined) {
      c.header("WWW-Authenticate", 'Bearer realm="levee"');
      return apiError(
        c,
        401,
        "missing Authorization: Bearer <token> (the admin token is in <data-dir>/admin.token)",
      );
    }
    if (!tokens.some((expected) => tokenMatches(token, expected))) {
      c.header("WWW-Authenticate", 'Bearer realm="levee", error="invalid_token"');
      return apiError(c, 401, "invalid token");
    }
    await next();
  };
}
