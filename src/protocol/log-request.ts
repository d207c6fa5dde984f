// The log request (docs/PROTOCOL.md, "Logs"): the cloud asks a node over MQTT to upload one
// worker's log, and the node answers over HTTP by POSTing the bytes to the cloud
// (/api/v1/logs/streams/<id>, authenticated with its MQTT credentials), because the cloud cannot
// call a node (loopback-only agent API, NAT). It travels on its own topic,
// levee/v1/node/<node>/logs, so that the plan/status protocol's message set stays as it is and a
// node that does not know it simply never subscribes (the cloud then times out).
//
// The same topic and upload carry the cloud's scrape of a node's metrics (type "metrics"): the
// node answers with its agent's /metrics text, so Prometheus reaches every node through the cloud,
// behind NAT too. A node that does not know the type drops it (bad schema) and the cloud times out.
// An exec request (type "exec", `levee ctl exec`) asks the node to open a session socket back to
// the cloud (exec-session.ts).
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { parseJsonWithin } from "../runtime/bounded-json.ts";
import { isDnsSubdomain } from "../runtime/dns-name.ts";
import { execCommandSchema } from "./exec-session.ts";
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from "./messages.ts";
import { isNodeName, logsTopic } from "./topics.ts";

export { logsTopic };

/** A stream id: 128 random bits, base64url (the capability the node's upload must name). */
const STREAM_ID = /^[A-Za-z0-9_-]{16,64}$/;

export function newStreamId(): string {
  return randomBytes(16).toString("base64url");
}

export function isStreamId(id: string): boolean {
  return STREAM_ID.test(id);
}

/** What every request on the topic carries. */
const requestFields = {
  v: z.literal(PROTOCOL_VERSION),
  node: z.string().min(1).max(253),
  /** The stream id, also the message id. */
  id: z.string().regex(STREAM_ID),
  ts: z.string().min(1).max(64),
};

export const logRequestSchema = z.object({
  ...requestFields,
  type: z.literal("logs"),
  /** A service name as nodes know it (`svc`, or `svc.namespace`): a DNS subdomain, never a path. */
  service: z.string().refine(isDnsSubdomain, "expected a service name (a DNS subdomain)"),
  index: z.number().int().min(0),
  /** Only the last N lines; null: everything kept. */
  tail: z.number().int().min(0).nullable(),
  follow: z.boolean(),
  // Optional within v1: a node that predates them ignores them (and sends everything, untimed).
  /** Only what was written at or after this time (RFC 3339); absent: everything kept. */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Each line begins with its time (RFC 3339) and a space. */
  timestamps: z.boolean().optional(),
  /** The instance before the current one (the run before the last restart); never followed. */
  previous: z.boolean().optional(),
});

export type LogRequest = z.infer<typeof logRequestSchema>;

/** The cloud asks for the node agent's Prometheus metrics (GET /api/v1/nodes/<node>/metrics). */
export const metricsRequestSchema = z.object({ ...requestFields, type: z.literal("metrics") });

export type MetricsRequest = z.infer<typeof metricsRequestSchema>;

/** The cloud asks the node to run a command in a worker and connect its session (the id). */
export const execRequestSchema = z.object({
  ...requestFields,
  type: z.literal("exec"),
  service: z.string().refine(isDnsSubdomain, "expected a service name (a DNS subdomain)"),
  index: z.number().int().min(0),
  ...execCommandSchema.shape,
});

export type ExecRequest = z.infer<typeof execRequestSchema>;

/** Any request on levee/v1/node/<node>/logs. */
export type NodeRequest = LogRequest | MetricsRequest | ExecRequest;

const nodeRequestSchema = z.discriminatedUnion("type", [
  logRequestSchema,
  metricsRequestSchema,
  execRequestSchema,
]);

export function newMetricsRequest(node: string, id: string = newStreamId()): MetricsRequest {
  return { v: PROTOCOL_VERSION, type: "metrics", node, id, ts: new Date().toISOString() };
}

export function newLogRequest(
  fields: Omit<LogRequest, "v" | "type" | "id" | "ts"> & { id?: string },
): LogRequest {
  return {
    v: PROTOCOL_VERSION,
    type: "logs",
    ts: new Date().toISOString(),
    ...fields,
    id: fields.id ?? newStreamId(),
  };
}

export function encodeLogRequest(request: NodeRequest): Buffer {
  return Buffer.from(JSON.stringify(request), "utf8");
}

export type DecodedLogRequest = { ok: true; request: NodeRequest } | { ok: false; reason: string };

/** Validates a payload received on levee/v1/node/<topicNode>/logs; never throws. */
export function decodeLogRequest(topicNode: string, payload: Buffer | Uint8Array): DecodedLogRequest {
  if (payload.length > MAX_MESSAGE_BYTES) return { ok: false, reason: `too large: ${payload.length} bytes` };
  const read = parseJsonWithin(Buffer.from(payload).toString("utf8"), "the log request");
  if (!read.ok) return { ok: false, reason: read.reason };
  const value = read.value;
  const v = (value as { v?: unknown } | null)?.v;
  if (v !== PROTOCOL_VERSION) return { ok: false, reason: `unknown version v=${JSON.stringify(v)}` };
  const parsed = nodeRequestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `bad schema: ${issue?.path.join(".") ?? ""} ${issue?.message ?? ""}`.trim() };
  }
  if (parsed.data.node !== topicNode || !isNodeName(topicNode))
    return { ok: false, reason: `node ${parsed.data.node} on a topic of ${topicNode}` };
  return { ok: true, request: parsed.data };
}

/** The error a node reports instead of a stream (POST /api/v1/logs/streams/<id>/error). */
export const logStreamErrorSchema = z.object({
  /** An HTTP status the cloud relays to the client: 404 no such worker, 429 busy, 500 failed. */
  status: z.number().int().min(400).max(599),
  error: z.string().min(1).max(4096),
});

export type LogStreamError = z.infer<typeof logStreamErrorSchema>;
