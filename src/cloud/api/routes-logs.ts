// /api/v1/logs: a worker's log streamed from its node through the cloud (`levee ctl logs`;
// docs/PROTOCOL.md, "Logs"; the relaying is in src/cloud/log-streams.ts).
//   GET  /logs/SERVICE?node=N[&worker=I][&tail=N][&follow=1][&since=T][&timestamps=1][&previous=1]
//                                                              admin: the log as text/plain
//   POST /logs/streams/ID                                      node: the log, as a streaming body
//   POST /logs/streams/ID/error   {status, error}              node: there is no such log
// Nodes authenticate with HTTP Basic and their MQTT credentials (node-auth.ts). No route here has
// the API's 4 MiB body limit: an upload is a stream of any length (an error report is bounded by
// parseBody); and the server's idle timeout is off for these requests: a followed log may be quiet
// for a long time.
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { isStreamId, logStreamErrorSchema } from "../../protocol/log-request.ts";
import { parseSince } from "../../protocol/log-since.ts";
import { isNodeName } from "../../protocol/topics.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import type { LogStreams } from "../log-streams.ts";
import { apiError, parseBody } from "./errors.ts";
import type { ApiRoutes } from "./route-registry.ts";
import { readWorkerRequest } from "./worker-request.ts";

export interface LogRouteDeps {
  streams: LogStreams;
  store: Store;
  log: Logger;
  /** Who may read a log: the admin. */
  admin: MiddlewareHandler;
  /** Who may upload one: only the node it was asked of (its name in c.get("node")). */
  node: MiddlewareHandler<NodeEnv>;
}

const flag = z
  .enum(["1", "0", "true", "false", ""], { error: "expected 1, 0, true or false" })
  .transform((v) => v === "1" || v === "true" || v === "");
const count = (what: string) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, `expected ${what}: a whole number ≥ 0`)
    .transform(Number);

export const logQuerySchema = z.object({
  node: z
    .string({ error: "required: the node the worker runs on, e.g. ?node=edge1" })
    .refine(isNodeName, {
      message: "expected a node name (a DNS subdomain, e.g. edge1 or edge.site-a)",
    })
    .describe("the node the worker runs on"),
  worker: count("a worker index").default(0).describe("the worker's index on the node"),
  tail: count("a number of lines").optional().describe("only the last N lines"),
  follow: flag.default(false).describe("1: keep the answer open and send new lines as they come"),
  since: z
    .string()
    .max(64)
    .transform((text, ctx) => {
      const parsed = parseSince(text);
      if (parsed.ok) return parsed.time.toISOString();
      ctx.addIssue({ code: "custom", message: parsed.error });
      return z.NEVER;
    })
    .optional()
    .describe(
      "only what was written since then: a duration back from now (30s, 5m, 1h30m) or an RFC 3339 time; exec workers: by log file",
    ),
  timestamps: flag
    .default(false)
    .describe("1: each line begins with its time (RFC 3339); exec workers: see the README"),
  previous: flag.default(false).describe("1: the run before the last restart (never followed)"),
});

const TAG = "workers";
const STREAM_ID = { id: "the stream id the cloud sent with its request for the log" };

type NodeEnv = { Variables: { node: string } };

/** Turns Bun's idle timeout off for this request (the server is Hono's env under Bun.serve). */
function keepOpen(c: Context): void {
  const server = c.env as { timeout?: (request: Request, seconds: number) => void } | undefined;
  try {
    server?.timeout?.(c.req.raw, 0);
  } catch {
    // not served by Bun.serve (tests calling app.fetch directly)
  }
}

export function mountLogRoutes(api: ApiRoutes, deps: LogRouteDeps): void {
  const { streams, store, log } = deps;
  const { admin, node } = deps;
  const routes = api.under<NodeEnv>("/logs");

  const upload = {
    method: "post",
    path: "/streams/:id",
    summary: "A node sends a log the cloud asked it for (a streaming body)",
    tag: TAG,
    auth: "node",
    params: STREAM_ID,
    body: { contentType: "text/plain", description: "the log, as long as it is followed" },
    responses: { 200: "{result}", 410: "nobody reads the log any more" },
  } as const;
  routes.add(upload, node, async (c) => {
    const id = c.req.param("id");
    if (!isStreamId(id)) return apiError(c, 400, `invalid log stream id ${JSON.stringify(id)}`);
    const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
    keepOpen(c);
    const result = await streams.deliver(id, c.get("node"), body);
    if (result.status !== 200 && result.status !== 410)
      log.debug("log upload refused", { stream: id, node: c.get("node"), status: result.status });
    return result.status === 200
      ? c.json({ result: result.message })
      : apiError(c, result.status, result.message);
  });

  const failure = {
    method: "post",
    path: "/streams/:id/error",
    summary: "A node says why it cannot send a log",
    tag: TAG,
    auth: "node",
    params: STREAM_ID,
    body: { json: logStreamErrorSchema },
    responses: { 200: "{result}" },
  } as const;
  routes.add(failure, node, async (c) => {
    const id = c.req.param("id");
    if (!isStreamId(id)) return apiError(c, 400, `invalid log stream id ${JSON.stringify(id)}`);
    const body = await parseBody(c, logStreamErrorSchema, "log stream error");
    const result = streams.fail(id, c.get("node"), body.status, body.error);
    return result.status === 200
      ? c.json({ result: result.message })
      : apiError(c, result.status, result.message);
  });

  const read = {
    method: "get",
    path: "/:service",
    summary: "A worker's log, streamed from its node (levee ctl logs)",
    tag: TAG,
    auth: "admin",
    params: { service: "the service (name, or name.namespace outside default)" },
    query: logQuerySchema,
    responses: {
      200: { description: "the log", body: { contentType: "text/plain", description: "the log's lines" } },
      404: "no such node, service or worker",
      503: "the node is disconnected",
    },
  } as const;
  routes.add(read, admin, (c) => readWorkerLog(c, streams, store));
}

/**
 * GET .../:service?node=N[&worker=I][&tail=N][&follow=1][&since=T][&timestamps=1][&previous=1]: the worker's log as text/plain, relayed
 * from its node. The caller has checked who asks (the admin here; a dashboard session for the
 * dashboard's log view).
 */
export async function readWorkerLog(c: Context, streams: LogStreams, store: Store): Promise<Response> {
  const request = readWorkerRequest(c, store, logQuerySchema, "log", "its logs cannot be read now");
  if (!request.ok) return request.response;
  const { service } = request;
  const { node: name, worker, tail, follow, since, timestamps, previous } = request.query;
  keepOpen(c);
  const answer = await streams.request(
    { node: name, service, index: worker, tail: tail ?? null, follow, since, timestamps, previous },
    c.req.raw.signal,
  );
  if (!answer.ok) return apiError(c, relayable(answer.status), answer.error);
  if (c.req.raw.signal.aborted) {
    await answer.body.cancel();
    return new Response(null, { status: 204 });
  }
  return new Response(answer.body, {
    status: 200,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

/** A status from a node or the registry, as one the API may answer with. */
function relayable(status: number): ContentfulStatusCode {
  return (status >= 400 && status <= 599 && status !== 499 ? status : 502) as ContentfulStatusCode;
}
