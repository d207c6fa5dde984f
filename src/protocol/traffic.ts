// Mesh traffic for the cloud's dashboard (docs/PROTOCOL.md, "Traffic"). Nodes count their mesh
// traffic anyway (src/mesh/routing/metrics.ts, for their own /metrics); the cloud sees it only
// while someone watches: it publishes a retained watch signal on levee/v1/shared/dashboard, and
// while that says so (and its time to live, counted from when the node received it, has not run
// out) every node sends a `traffic` message every `intervalSeconds`: what its local workers served
// per service since its last report (requests, errors, a latency histogram) and the requests it
// received through the tunnel from each peer node, direct or through the relay, with their errors
// and bytes (optional fields: a cloud that does not know them ignores them). Nothing when nobody watches.
import { z } from "zod";
import { parseJsonWithin } from "../runtime/bounded-json.ts";
import { sharedTopic } from "./topics.ts";

/** The watch signal's format; a node ignores (and stops for) a signal of another. */
export const WATCH_FORMAT = 1;
/** The traffic report's body format. */
export const TRAFFIC_FORMAT = 1;
export const WATCH_TOPIC = sharedTopic("dashboard");
/** Most entries in a report (services, links), and latency bounds. */
export const MAX_TRAFFIC_ENTRIES = 2000;
export const MAX_LATENCY_BOUNDS = 32;
/** Largest watch signal accepted (bytes), before it is parsed. */
const MAX_WATCH_BYTES = 1024;

export const watchSignalSchema = z.object({
  v: z.literal(WATCH_FORMAT),
  watching: z.boolean(),
  /** How often nodes report while watching. */
  intervalSeconds: z.number().int().min(1).max(60),
  /** How long after receiving it a node keeps reporting, unless the cloud says again. */
  ttlSeconds: z.number().int().min(5).max(3600),
});
export type WatchSignal = z.infer<typeof watchSignalSchema>;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(253);

export const trafficBody = {
  type: z.literal("traffic"),
  format: z.literal(TRAFFIC_FORMAT),
  /** The time the counts cover, ms (since the node's previous report, or since it started counting). */
  windowMs: z.number().int().min(1).max(3_600_000),
  /** Upper bounds (seconds, increasing) of the latency buckets; one more bucket counts the rest. */
  latencyBounds: z.array(z.number().positive().max(3600)).max(MAX_LATENCY_BOUNDS),
  /** What this node's own workers served, per service, in the window. */
  services: z
    .array(
      z.object({
        service: name,
        requests: count,
        /** Requests or connections that did not end well (5xx, refused, reset, timeout, failed). */
        errors: count,
        /** Per latency bucket (latencyBounds, then the rest); absent: no samples. */
        latency: z
          .array(count)
          .max(MAX_LATENCY_BOUNDS + 1)
          .optional(),
      }),
    )
    .max(MAX_TRAFFIC_ENTRIES),
  /**
   * Requests (HTTP; connections for TCP) this node received through the tunnel from each peer, by
   * path; with (optional: older nodes leave them out) the errors among them and the bytes received
   * from the peer (bytesIn) and sent back (bytesOut) on those streams.
   */
  links: z
    .array(
      z.object({
        peer: name,
        via: z.enum(["direct", "relay"]),
        requests: count,
        errors: count.optional(),
        bytesIn: count.optional(),
        bytesOut: count.optional(),
      }),
    )
    .max(MAX_TRAFFIC_ENTRIES),
};

export function encodeWatchSignal(signal: WatchSignal): Buffer {
  return Buffer.from(JSON.stringify(signal), "utf8");
}

/** The watch signal in a retained payload, or why not (an empty payload: nobody watches). */
export function parseWatchSignal(
  payload: Buffer,
): { ok: true; signal: WatchSignal } | { ok: false; reason: string } {
  if (payload.length === 0)
    return { ok: true, signal: { v: WATCH_FORMAT, watching: false, intervalSeconds: 5, ttlSeconds: 5 } };
  if (payload.length > MAX_WATCH_BYTES) return { ok: false, reason: `${payload.length} bytes` };
  const read = parseJsonWithin(payload.toString("utf8"), "the watch signal");
  if (!read.ok) return { ok: false, reason: read.reason };
  const parsed = watchSignalSchema.safeParse(read.value);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues[0]?.message ?? "invalid" };
  return { ok: true, signal: parsed.data };
}
