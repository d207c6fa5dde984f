// The sync protocol's messages (docs/PROTOCOL.md): one JSON envelope per MQTT message, validated
// with zod. decodeMessage never throws: a bad message comes back as a reason (for the log line
// and the levee_sync_dropped_total{reason} counter), so a receiver can never half-apply one.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { parseJsonWithin } from "../runtime/bounded-json.ts";
import { PermanentError } from "../runtime/errors.ts";
import { MAX_KEY_ID_CHARS, MAX_SIGNATURE_CHARS } from "./plan-signature.ts";
import { trafficBody } from "./traffic.ts";
import { upgradeBody, upgradeReportBody } from "./upgrade.ts";
import { usageReportSchema } from "./usage.ts";

export const PROTOCOL_VERSION = 1;
/** The largest payload we send or accept (PROTOCOL.md: "at most 1 MiB"). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** How much of the epoch a beat carries: enough to tell a rebuilt cloud database from this one. */
export const EPOCH_TAG_CHARS = 8;

const name = z.string().min(1).max(253);
const revision = z.number().int().min(0);
const epoch = z.string().min(1).max(128);
const hash = z.string().max(256);

const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  node: name,
  id: z.string().min(1).max(128),
  ts: z.string().min(1).max(64),
};

export const helloSchema = z.object({
  ...envelope,
  type: z.literal("hello"),
  /** Epoch of the plan the node has, or null when it has none. */
  epoch: epoch.nullable(),
  appliedRevision: revision,
  planHash: hash.nullable(),
  agentVersion: z.string().max(128),
  bootId: z.string().max(128),
  addresses: z.array(z.string().max(253)).max(64),
  /**
   * This agent reads packed plans (plan-packed: compressed, or a delta against its plan), so the
   * cloud may send those when smaller. Absent from agents before them: they get plan messages.
   */
  packedPlans: z.boolean().optional(),
  /**
   * This agent reads sacks (the compact status-ack), so the cloud may answer its status with
   * those. Absent from agents before them: they get status-ack messages.
   */
  compactAcks: z.boolean().optional(),
  /** This agent reads plan-packed without node, id and ts (lean: the topic names the node). */
  leanPlans: z.boolean().optional(),
});

export const welcomeSchema = z.object({
  ...envelope,
  type: z.literal("welcome"),
  epoch,
  desiredRevision: revision,
  heartbeatSeconds: z.number().int().min(1).max(3600),
  /**
   * This cloud reads beats (compact-messages.ts): a node with nothing else to report may send those instead
   * of heartbeats. Absent from clouds before beats existed (their nodes send heartbeats); an agent
   * before them ignores it.
   */
  beat: z.boolean().optional(),
});

export const planMessageSchema = z.object({
  ...envelope,
  type: z.literal("plan"),
  epoch,
  revision,
  hash,
  /** The plan body's format (src/manifest/plan.ts PLAN_FORMAT); absent: 1, Config files inline. */
  format: z.number().int().min(1).optional(),
  /** The node's whole plan; its shape belongs to the planner (src/manifest/plan.ts). */
  plan: z.record(z.string(), z.unknown()),
  /**
   * The cloud's signature of the fields above (plan-signature.ts) and the id of the key that made
   * it. Absent from clouds before plans were signed; an agent before then ignores both.
   */
  signature: z.string().max(MAX_SIGNATURE_CHARS).optional(),
  keyId: z.string().max(MAX_KEY_ID_CHARS).optional(),
});

/**
 * A plan in fewer bytes (plan-packing.ts), to a node whose hello said it reads them: deflated
 * (base64 of raw deflate), or a delta against the node's plan `base`, or both. The signature is
 * the plain plan message's, over the whole plan the node rebuilds.
 */
export const planPackedSchema = z.object({
  ...envelope,
  id: envelope.id.optional(),
  ts: envelope.ts.optional(),
  type: z.literal("plan-packed"),
  epoch,
  revision,
  hash,
  format: z.number().int().min(1).optional(),
  signature: z.string().max(MAX_SIGNATURE_CHARS).optional(),
  keyId: z.string().max(MAX_KEY_ID_CHARS).optional(),
  /** Present: the body is a delta against this plan of the node (the start of its hash). */
  base: z.object({ revision, hash: z.string().max(64) }).optional(),
  /** The body (the plan, or with `base` the delta) as base64 of its raw-deflated JSON. */
  deflated: z.string().max(MAX_MESSAGE_BYTES).optional(),
  /** The delta as JSON (plan-delta.ts), when not deflated. */
  delta: z.unknown().optional(),
});

export const ackSchema = z.object({
  ...envelope,
  type: z.literal("ack"),
  epoch,
  revision,
  hash,
});

export const heartbeatSchema = z.object({
  ...envelope,
  type: z.literal("heartbeat"),
  epoch: epoch.nullable(),
  appliedRevision: revision,
  outboxDepth: z.number().int().min(0),
  /**
   * The node's latest CPU and memory usage (usage.ts), at most every USAGE_REPORT_SECONDS. Absent
   * from agents before it existed, and from a heartbeat without a new sample. A usage this cloud
   * cannot read is left out rather than dropping the heartbeat: liveness never depends on it.
   */
  usage: usageReportSchema.optional().catch(undefined),
  /**
   * The latest plan this node refused (its signature did not verify), until it accepts a plan: so
   * the cloud records it once as an event of the Node. Absent when none; a cloud before it ignores it.
   */
  planRefused: z
    .object({ epoch, revision, hash, reason: z.string().max(1024) })
    .optional()
    .catch(undefined),
});

/**
 * A heartbeat with nothing but liveness and the applied plan, as small as it can be (no id or
 * timestamp; no node on the wire, decodeMessage takes it from the topic; the epoch shortened to
 * its first EPOCH_TAG_CHARS characters): what an idle node sends every interval when the cloud's
 * welcome says it reads them. Anything more to report
 * (usage, a refused plan, unacknowledged status) goes in a heartbeat.
 */
export const beatSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  node: name,
  type: z.literal("beat"),
  /** The epoch's first EPOCH_TAG_CHARS characters, "" when the node has no plan. */
  e: z.string().max(EPOCH_TAG_CHARS),
  /** The applied revision. */
  r: revision,
});

export const workerStatusSchema = z.object({
  service: name,
  index: z.number().int().min(0),
  phase: z.string().min(1).max(64),
  ready: z.boolean(),
  restarts: z.number().int().min(0),
  message: z.string().max(4096),
  exitCode: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  since: z.string().max(64),
  /** The generation of the service spec the worker runs (absent from agents before it existed). */
  generation: z.number().int().min(0).optional(),
});

export const statusSchema = z.object({
  ...envelope,
  type: z.literal("status"),
  seq: z.number().int().min(1),
  workers: z.array(workerStatusSchema),
});

export const statusAckSchema = z.object({
  ...envelope,
  type: z.literal("status-ack"),
  seq: z.number().int().min(1),
});

/**
 * A status-ack as small as it can be (no id or timestamp; no node on the wire, decodeMessage takes
 * it from the topic): what the cloud answers a status with, at QoS 0, to a node whose hello said
 * it reads them (compactAcks). A lost one is healed by the node's next heartbeat, which sends
 * every unacknowledged status again.
 */
export const sackSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  node: name,
  type: z.literal("sack"),
  /** The seq of the status batch the cloud stored. */
  s: z.number().int().min(1),
});

export const routeStatusSchema = z.object({
  service: name,
  kind: z.enum(["service-port", "upstream"]),
  port: z.number().int().min(1).max(65535),
  state: z.enum(["pending", "applied", "failed", "removed"]),
  message: z.string().max(1024),
  since: z.string().max(64),
});

/** A node's mesh routes, whole (the latest replaces the earlier ones): on change and after a welcome. */
export const routesSchema = z.object({
  ...envelope,
  type: z.literal("routes"),
  routes: z.array(routeStatusSchema).max(10_000),
});

export const stagingEntrySchema = z.object({
  service: name,
  /** The staged generation (the plan's `staged.generation`) this is about. */
  generation: z.number().int().min(0),
  /** Bytes of that generation's artifacts on the node, and their total. */
  fetched: z.number().int().min(0),
  total: z.number().int().min(0),
  state: z.enum(["fetching", "ready", "failed"]),
  message: z.string().max(1024),
});

/** What a node has fetched of the generations its plan stages, whole: on change and after a welcome. */
export const stagingSchema = z.object({
  ...envelope,
  type: z.literal("staging"),
  services: z.array(stagingEntrySchema).max(10_000),
});

/** A node's mesh traffic since its last report, sent only while the cloud asks (traffic.ts). */
export const trafficSchema = z.object({ ...envelope, ...trafficBody });

/** Published retained on levee/v1/node/<node>/presence, and as the node's last will. */
export const presenceSchema = z.object({
  ...envelope,
  type: z.literal("presence"),
  online: z.boolean(),
});

/** An order to upgrade the agent (upgrade.ts): sent while the node's turn in a rollout lasts. */
export const upgradeSchema = z.object({ ...envelope, ...upgradeBody });
/** A node's progress through an upgrade (upgrade.ts): on each step and after every welcome. */
export const upgradeReportSchema = z.object({ ...envelope, ...upgradeReportBody });

export const messageSchema = z.discriminatedUnion("type", [
  helloSchema,
  welcomeSchema,
  planMessageSchema,
  planPackedSchema,
  ackSchema,
  heartbeatSchema,
  beatSchema,
  statusSchema,
  statusAckSchema,
  sackSchema,
  presenceSchema,
  routesSchema,
  trafficSchema,
  stagingSchema,
  upgradeSchema,
  upgradeReportSchema,
]);

export type Message = z.infer<typeof messageSchema>;
export type MessageType = Message["type"];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;
export type WorkerStatus = z.infer<typeof workerStatusSchema>;
export type RouteStatusEntry = z.infer<typeof routeStatusSchema>;
export type StagingEntry = z.infer<typeof stagingEntrySchema>;
export type Hello = MessageOf<"hello">;
export type Welcome = MessageOf<"welcome">;
export type PlanMessage = MessageOf<"plan">;
export type PlanPacked = MessageOf<"plan-packed">;
export type Ack = MessageOf<"ack">;
export type Heartbeat = MessageOf<"heartbeat">;
export type Beat = MessageOf<"beat">;
export type Status = MessageOf<"status">;
export type StatusAck = MessageOf<"status-ack">;
export type Sack = MessageOf<"sack">;
export type Presence = MessageOf<"presence">;

/** The topic channel each message type travels on (topics.ts). */
export const CHANNEL_OF: Record<MessageType, "up" | "down" | "presence"> = {
  hello: "up",
  ack: "up",
  heartbeat: "up",
  beat: "up",
  status: "up",
  routes: "up",
  traffic: "up",
  staging: "up",
  "upgrade-report": "up",
  welcome: "down",
  upgrade: "down",
  plan: "down",
  "plan-packed": "down",
  "status-ack": "down",
  sack: "down",
  presence: "presence",
};

/** The message types that may carry no node on the wire (decodeMessage takes it from the topic). */
const COMPACT_TYPES: ReadonlySet<unknown> = new Set(["beat", "sack", "plan-packed"]);

export type DropReason = "too-large" | "too-deep" | "not-json" | "bad-version" | "bad-schema" | "wrong-node";
export type Decoded = { ok: true; msg: Message } | { ok: false; reason: DropReason; detail: string };

/** A message's own fields, without the envelope that newMessage fills in. */
export type Body<T extends MessageType> = Omit<MessageOf<T>, "v" | "node" | "id" | "ts">;

/** A complete message: the envelope (version, node, a fresh id, now) around its body. */
export function newMessage<T extends MessageType>(node: string, body: Body<T> & { type: T }): MessageOf<T> {
  return {
    v: PROTOCOL_VERSION,
    node,
    id: randomUUID(),
    ts: new Date().toISOString(),
    ...body,
  } as unknown as MessageOf<T>;
}

export class MessageTooLargeError extends PermanentError {}

/**
 * The payload for a message; throws MessageTooLargeError above MAX_MESSAGE_BYTES. `lean`: without
 * node, id and ts, for a type whose node decodeMessage takes from the topic (COMPACT_TYPES).
 */
export function encodeMessage(msg: Message, lean = false): Buffer {
  if (lean && !COMPACT_TYPES.has(msg.type)) throw new Error(`a ${msg.type} message has no lean form`);
  const value = lean ? { ...msg, node: undefined, id: undefined, ts: undefined } : msg;
  const payload = Buffer.from(JSON.stringify(value), "utf8");
  if (payload.length > MAX_MESSAGE_BYTES) {
    throw new MessageTooLargeError(
      `${msg.type} message for ${msg.node} is ${payload.length} bytes, more than ${MAX_MESSAGE_BYTES}`,
    );
  }
  return payload;
}

/**
 * Validates a payload received on a topic of node `topicNode`. With `channel`, a message type
 * that does not belong on that channel (a node sending "plan" upward) is a schema error too.
 */
export function decodeMessage(
  topicNode: string,
  payload: Buffer | Uint8Array,
  channel?: "up" | "down" | "presence",
): Decoded {
  if (payload.length > MAX_MESSAGE_BYTES)
    return { ok: false, reason: "too-large", detail: `${payload.length} bytes` };
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString("utf8");
  // Depth bounded before parsing: zod's walk of a deeply nested value overflows the stack.
  const read = parseJsonWithin(text, "the message");
  if (!read.ok)
    return { ok: false, reason: read.problem === "too-deep" ? "too-deep" : "not-json", detail: read.reason };
  const value = read.value;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, reason: "not-json", detail: "not a JSON object" };
  const v = (value as { v?: unknown }).v;
  if (v !== PROTOCOL_VERSION) return { ok: false, reason: "bad-version", detail: `v=${JSON.stringify(v)}` };
  // A beat, a sack and a lean packed plan name their node by the topic only (the broker lets only
  // that node publish on its up topic, and only the cloud on its down topic).
  const record = value as Record<string, unknown>;
  if (COMPACT_TYPES.has(record.type) && record.node === undefined) record.node = topicNode;
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: "bad-schema", detail: describeIssue(parsed.error) };
  const msg = parsed.data;
  if (channel !== undefined && CHANNEL_OF[msg.type] !== channel)
    return { ok: false, reason: "bad-schema", detail: `${msg.type} does not belong on ${channel}` };
  if (msg.node !== topicNode)
    return { ok: false, reason: "wrong-node", detail: `node ${msg.node} on a topic of ${topicNode}` };
  return { ok: true, msg };
}

/**
 * The largest plan body (its JSON, bytes) that fits in one plan message to `node`: the limit less
 * the envelope, counted with the longest value each envelope field may have.
 */
export function planBodyLimit(node: string): number {
  const widest = {
    v: PROTOCOL_VERSION,
    node,
    id: "x".repeat(128),
    ts: "x".repeat(64),
    type: "plan",
    epoch: "x".repeat(128),
    revision: Number.MAX_SAFE_INTEGER,
    hash: "x".repeat(256),
    format: Number.MAX_SAFE_INTEGER,
    plan: {},
    signature: "x".repeat(MAX_SIGNATURE_CHARS),
    keyId: "x".repeat(MAX_KEY_ID_CHARS),
  };
  return MAX_MESSAGE_BYTES - (Buffer.byteLength(JSON.stringify(widest), "utf8") - 2);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const path = issue.path.map(String).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
