// Who may use the local agent API. It listens on loopback by default (--agent-address), where
// every route answers without credentials and none of its answers carries a secret (/v1/plan
// redacts env values and Config data). The agent token (<data-dir>/agent.token, 0600, readable by
// root only) is what shows more: with it /v1/plan is the plan as stored. When the API is moved to
// an address other hosts reach, a caller that is not on loopback needs the token for every route
// except /healthz and /readyz (probes); loopback callers (this node's workers) need none.
import type { Context, MiddlewareHandler } from "hono";
import { isLoopbackAddress } from "../runtime/host-port.ts";
import { bearerToken, tokenMatches } from "../runtime/token-file.ts";

export const AGENT_TOKEN_FILE = "agent.token";

const OPEN_ROUTES = new Set(["/healthz", "/readyz"]);

/** Whether the request carries the agent token. */
export function hasAgentToken(c: Context, token: string): boolean {
  const presented = bearerToken(c.req.header("authorization"));
  return presented !== undefined && tokenMatches(presented, token);
}

/** The peer's IP address; undefined when the server cannot tell (then it is not trusted as loopback). */
function peerAddress(c: Context): string | undefined {
  const server = c.env as { requestIP?(req: Request): { address: string } | null } | undefined;
  return server?.requestIP?.(c.req.raw)?.address;
}

/** Requires the agent token from callers that are not on loopback, except on the probe routes. */
export function requireAgentTokenOffLoopback(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (OPEN_ROUTES.has(c.req.path)) return next();
    const peer = peerAddress(c);
    if (peer !== undefined && isLoopbackAddress(peer)) return next();
    if (hasAgentToken(c, token)) return next();
    c.header("WWW-Authenticate", 'Bearer realm="levee-agent"');
    return c.json(
      {
        error: `the local agent API needs Authorization: Bearer <token> from ${peer ?? "a caller"} that is not on loopback (the token is in <data-dir>/${AGENT_TOKEN_FILE})`,
      },
      401,
    );
  };
}
