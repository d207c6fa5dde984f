// Packed plans (docs/PROTOCOL.md, "Packed plans"): the cloud sends a node that says it reads them
// (hello.packedPlans) whichever of four forms of its plan is smallest: the plain plan message,
// the plan deflated, a delta against the plan the node acknowledged last (plan-delta.ts), or that
// delta deflated. The signature is the plan message's, over the whole resulting plan
// (plan-signature.ts): the node rebuilds the plan, then verifies it like any other, so a packed
// plan is exactly as trustworthy as a plain one. A delta names its base (revision and the start of
// its hash); a node whose plan is not that base drops it and says hello again, which gets it the
// whole plan. Everything is bounded before it is expanded: the deflated body by the message size
// and its output by MAX_PLAN_BYTES (a zip bomb stops there), the JSON by its nesting depth.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { parseJsonWithin } from "../runtime/bounded-json.ts";
import { type Body, MAX_MESSAGE_BYTES, type PlanMessage, type PlanPacked } from "./messages.ts";
import { applyDelta, type DeltaOp, deltaSchema, diffPlan } from "./plan-delta.ts";

/** The largest plan (its JSON) a packed message may expand to: what fits a plain plan message. */
export const MAX_PLAN_BYTES = MAX_MESSAGE_BYTES;
/** How much of the base's hash a delta names. */
export const BASE_HASH_CHARS = 16;
/** Bodies shorter than this are not worth deflating (the header and base64 cost more). */
const DEFLATE_FROM_BYTES = 200;

/** A node's plan as the cloud has it: its version and its JSON text. */
export interface PlanText {
  revision: number;
  hash: string;
  /** The plan's JSON. */
  plan: string;
}

export type PlanBody = Body<"plan"> & { type: "plan" };
export type PackedBody = Body<"plan-packed"> & { type: "plan-packed" };

/**
 * A plan message as a node handles it: a plain one, or one rebuilt from a packed plan, whose id and
 * timestamp a lean packed plan leaves out (hello.leanPlans; nothing reads them on the node).
 */
export type PlanContent = Omit<PlanMessage, "id" | "ts"> & {
  id?: string | undefined;
  ts?: string | undefined;
};

/** What a plan was sent as (levee_sync_plans_sent_total{form}). */
export type PlanForm = "plain" | "deflated" | "delta" | "delta-deflated";

/**
 * The smallest form of `full` (a plan message's body, its signature included) for a node that
 * reads packed plans; `base`: the plan the node acknowledged last, if the cloud knows it.
 */
export function packPlan(full: PlanBody, base?: PlanText): { body: PlanBody | PackedBody; form: PlanForm } {
  const { type: _type, plan, ...fields } = full;
  const planJson = JSON.stringify(plan);
  const candidates: { body: PlanBody | PackedBody; form: PlanForm; size: number }[] = [
    { body: full, form: "plain", size: planJson.length },
  ];
  const packed = (extra: Partial<PackedBody>, form: PlanForm, size: number) =>
    candidates.push({ body: { ...fields, type: "plan-packed", ...extra } as PackedBody, form, size });
  if (planJson.length >= DEFLATE_FROM_BYTES) {
    const z = deflate(planJson);
    packed({ deflated: z }, "deflated", z.length);
  }
  if (base && base.revision < full.revision) {
    const ops = deltaAgainst(base, plan);
    if (ops) {
      const json = JSON.stringify(ops);
      const ref = { revision: base.revision, hash: base.hash.slice(0, BASE_HASH_CHARS) };
      // The base reference costs what the plain form does not.
      const refSize = JSON.stringify(ref).length + 10;
      packed({ base: ref, delta: ops }, "delta", json.length + refSize);
      if (json.length >= DEFLATE_FROM_BYTES) {
        const z = deflate(json);
        packed({ base: ref, deflated: z }, "delta-deflated", z.length + refSize);
      }
    }
  }
  candidates.sort((a, b) => a.size - b.size);
  const best = candidates[0] as (typeof candidates)[number];
  return { body: best.body, form: best.form };
}

function deltaAgainst(base: PlanText, plan: Record<string, unknown>): DeltaOp[] | undefined {
  try {
    const parsed: unknown = JSON.parse(base.plan);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
    return diffPlan(parsed as Record<string, unknown>, plan);
  } catch {
    return undefined;
  }
}

function deflate(json: string): string {
  return deflateRawSync(Buffer.from(json, "utf8")).toString("base64");
}

/** The node's stored plan, what a delta applies to. */
export interface StoredBase {
  epoch: string;
  revision: number;
  hash: string;
  plan: Record<string, unknown>;
}

export type Unpacked =
  | { ok: true; msg: PlanContent }
  | { ok: false; reason: "base-mismatch" | "bad-body" | "too-large"; detail: string };

/**
 * The plan message a packed one stands for (its signature still to be verified by the caller),
 * or why not. `stored()` is asked only for a delta.
 */
export function unpackPlan(msg: PlanPacked, stored: () => StoredBase | undefined): Unpacked {
  const { base, deflated, delta, ...rest } = msg;
  let body: unknown = delta;
  if (deflated !== undefined) {
    const read = inflate(deflated);
    if (!read.ok) return read;
    body = read.value;
  }
  const plain = { ...rest, type: "plan" as const };
  if (base === undefined) {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return { ok: false, reason: "bad-body", detail: "the plan is not a JSON object" };
    return { ok: true, msg: { ...plain, plan: body as Record<string, unknown> } };
  }
  const have = stored();
  if (
    !have ||
    have.epoch !== msg.epoch ||
    have.revision !== base.revision ||
    !have.hash.startsWith(base.hash) ||
    base.hash.length === 0
  ) {
    const mine = have ? `${have.revision} (${have.hash.slice(0, BASE_HASH_CHARS)})` : "none";
    return {
      ok: false,
      reason: "base-mismatch",
      detail: `a delta against revision ${base.revision} (${base.hash}); this node has ${mine}`,
    };
  }
  const ops = deltaSchema.safeParse(body);
  if (!ops.success) return { ok: false, reason: "bad-body", detail: "the delta is not a list of operations" };
  const applied = applyDelta(have.plan, ops.data as DeltaOp[]);
  if (!applied.ok) return { ok: false, reason: "base-mismatch", detail: applied.reason };
  return { ok: true, msg: { ...plain, plan: applied.plan } };
}

/** The JSON a deflated body holds, expanded to at most MAX_PLAN_BYTES. */
function inflate(base64: string): { ok: true; value: unknown } | Extract<Unpacked, { ok: false }> {
  let bytes: Buffer;
  try {
    bytes = inflateRawSync(Buffer.from(base64, "base64"), { maxOutputLength: MAX_PLAN_BYTES });
  } catch (err) {
    const tooLarge = err instanceof RangeError || /maxOutputLength|buffer/i.test(String(err));
    return tooLarge
      ? { ok: false, reason: "too-large", detail: `expands beyond ${MAX_PLAN_BYTES} bytes` }
      : { ok: false, reason: "bad-body", detail: "not a deflated body" };
  }
  const read = parseJsonWithin(bytes.toString("utf8"), "the packed plan");
  if (!read.ok) return { ok: false, reason: "bad-body", detail: read.reason };
  return { ok: true, value: read.value };
}
