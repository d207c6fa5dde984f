// A packed plan from the cloud (docs/PROTOCOL.md, "Packed plans"; protocol/plan-packing.ts):
// expanded (within MAX_PLAN_BYTES) and, for a delta, applied to the stored plan it names, then
// handled exactly as a plain plan message, signature check included (plan.ts): the signature
// covers the whole plan rebuilt here. A delta against a plan this node does not have is dropped
// and the node says hello again: the hello names its plan, and the cloud sends it whole.
import type { PlanPacked } from "../../../protocol/messages.ts";
import { type PlanForm, unpackPlan } from "../../../protocol/plan-packing.ts";
import type { EdgeLinkContext } from "./context.ts";
import { sendHello } from "./outbound.ts";
import { handlePlan } from "./plan.ts";

export function handlePlanPacked(ctx: EdgeLinkContext, msg: PlanPacked): void {
  const unpacked = unpackPlan(msg, () => ctx.plans.stored());
  if (!unpacked.ok) {
    const reason = unpacked.reason === "base-mismatch" ? "delta-base" : unpacked.reason;
    ctx.dropped.inc(reason);
    ctx.log.warn("packed plan dropped", { revision: msg.revision, reason, detail: unpacked.detail });
    if (unpacked.reason === "base-mismatch" && ctx.isReady()) sendHello(ctx);
    return;
  }
  const form: PlanForm = !msg.base ? "deflated" : msg.deflated !== undefined ? "delta-deflated" : "delta";
  ctx.plansReceived.inc(form);
  handlePlan(ctx, unpacked.msg);
}
