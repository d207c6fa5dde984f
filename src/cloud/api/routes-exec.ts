// /api/v1/exec: a command run in a worker, its streams passed through the cloud (`levee ctl exec`;
// docs/PROTOCOL.md, "Exec"; the pairing and passing is in src/cloud/exec-sessions.ts). Both
// routes are WebSockets:
//   GET /exec/SERVICE?node=N[&worker=I]   admin: the client's session (it sends its start message);
//                                         with &probe=1 a plain request: checked, nothing opened
//   GET /exec/sessions/ID                 node: the node's side of session ID, asked for over MQTT
// Nodes authenticate with HTTP Basic and their MQTT credentials (node-auth.ts). Refusals that
// can be known before the upgrade (bad query, unknown or disconnected node, too many sessions) are
// plain JSON errors; later ones are an `error` message on the socket.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { isStreamId } from "../../protocol/log-request.ts";
import { peerAddress, upgrade } from "../../runtime/socket-upgrade.ts";
import type { Store } from "../../store/store.ts";
import type { ExecSessions } from "../exec-sessions.ts";
import { apiError } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";
import { logQuerySchema } from "./routes-logs.ts";
import { readWorkerRequest } from "./worker-request.ts";

export interface ExecRouteDeps {
  sessions: ExecSessions;
  store: Store;
  admin: MiddlewareHandler;
  node: MiddlewareHandler<NodeEnv>;
}

type NodeEnv = { Variables: { node: string } };

export const execQuerySchema = logQuerySchema.pick({ node: true, worker: true }).extend({
  probe: z
    .enum(["1"], { error: "expected 1" })
    .optional()
    .describe("1: only check the request (200, or the error a session would get) and open nothing"),
});

const TAG = "workers";
const NOT_WEBSOCKET = "expected a WebSocket upgrade (Upgrade: websocket)";

export function mountExecRoutes(api: ApiRoutes, deps: ExecRouteDeps): void {
  const { sessions, store } = deps;
  const routes = api.under<NodeEnv>("/exec");

  const nodeSide = {
    method: "get",
    path: "/sessions/:id",
    summary: "A node connects the exec session the cloud asked it for (a WebSocket)",
    tag: TAG,
    auth: "node",
    params: { id: "the session id the cloud sent with its exec request" },
    responses: {
      101: "the session's WebSocket: stdout, stderr and the exit code from the node; stdin from the client",
      403: "the session is for another node",
      426: NOT_WEBSOCKET,
    },
  } as const;
  routes.add(nodeSide, deps.node, (c) => {
    const id = c.req.param("id");
    if (!isStreamId(id)) return apiError(c, 400, `invalid exec session id ${JSON.stringify(id)}`);
    const node = c.get("node");
    const check = sessions.canAttach(id, node);
    if (!check.ok) return apiError(c, check.status as 403 | 404, check.error);
    const upgraded = upgrade(c.env, c.req.raw, (socket) => {
      const end = sessions.attachNode(id, node, socket);
      return end ?? { message: () => {}, closed: () => {} };
    });
    if (!upgraded) return apiError(c, 426, NOT_WEBSOCKET);
    return new Response(null);
  });

  const clientSide = {
    method: "get",
    path: "/:service",
    summary: "Run a command in a worker, streams attached (levee ctl exec; a WebSocket)",
    description:
      "The client's first message is its start message (the command, tty, terminal size); then stdin frames, stdin-end and resize. It receives stdout and stderr frames and one exit or error message. Recorded as an Exec event (the command's first word only).",
    tag: TAG,
    auth: "admin",
    params: { service: "the service (name, or name.namespace outside default)" },
    query: execQuerySchema,
    responses: {
      101: "the session's WebSocket",
      200: "{result} (probe=1: a session could start)",
      404: "no such node",
      426: NOT_WEBSOCKET,
      429: "too many exec sessions at once",
      503: "the node is disconnected",
    },
  } as const;
  routes.add(clientSide, deps.admin, (c) => {
    const request = readWorkerRequest(c, store, execQuerySchema, "exec", "nothing can be run on it now");
    if (!request.ok) return request.response;
    const { service } = request;
    const { node, worker } = request.query;
    const refused = sessions.refusal();
    if (refused) return apiError(c, refused.status as 429, refused.error);
    if (request.query.probe) return c.json({ result: "ok" });
    const from = peerAddress(c.env, c.req.raw);
    const upgraded = upgrade(c.env, c.req.raw, (socket) =>
      sessions.openClient({ node, service, index: worker, from }, socket),
    );
    if (!upgraded) return apiError(c, 426, NOT_WEBSOCKET);
    return new Response(null);
  });
}
