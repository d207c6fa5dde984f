// A plan from the cloud (docs/PROTOCOL.md, "Plan"): persisted, THEN acknowledged, THEN handed to
// the supervisor. A newer plan (or one of another epoch) is stored and acknowledged; a duplicate
// is acknowledged with what the node already runs; a plan this agent cannot read (a newer format)
// or cannot store is not acknowledged, so the cloud keeps offering it. Once the node keeps the
// cloud's plan-signing key, a plan whose signature does not verify (plan-signature.ts) is refused:
// not stored, not acknowledged, logged once per plan and reason, and reported with a heartbeat.
import { PLAN_FORMAT } from "../../../manifest/plan.ts";
import type { PlanContent } from "../../../protocol/plan-packing.ts";
import { planSignatureProblem } from "../../../protocol/plan-signature.ts";
import type { AcceptResult } from "../plan-store.ts";
import type { EdgeLinkContext } from "./context.ts";
import { sendHeartbeat, sendUp } from "./outbound.ts";

export function handlePlan(ctx: EdgeLinkContext, msg: PlanContent): void {
  const { log } = ctx;
  // A plan body this agent cannot read is neither stored nor acknowledged: the cloud keeps
  // offering it, and the node keeps running what it has until the agent is upgraded.
  if ((msg.format ?? 1) > PLAN_FORMAT) {
    ctx.dropped.inc("bad-version");
    log.warn("plan of a newer format dropped (upgrade this agent)", {
      revision: msg.revision,
      format: msg.format,
      known: PLAN_FORMAT,
    });
    return;
  }
  const problem = signatureProblem(ctx, msg);
  if (problem) {
    refuse(ctx, msg, problem);
    return;
  }
  let result: AcceptResult;
  try {
    result = ctx.plans.accept(msg);
  } catch (err) {
    // Not stored, so not acknowledged: the cloud sends it again after a heartbeat.
    log.error("cannot store plan", { epoch: msg.epoch, revision: msg.revision, error: err });
    return;
  }
  const { stored } = result;
  if (result.decision === "duplicate" && result.sameRevisionOtherHash) {
    log.warn("plan with a known revision but another hash ignored", {
      epoch: msg.epoch,
      revision: msg.revision,
      hash: msg.hash,
      storedHash: stored.hash,
    });
  }
  // The ack names what this node now runs (for a duplicate: what it already had).
  sendUp(ctx, { type: "ack", epoch: stored.epoch, revision: stored.revision, hash: stored.hash });
  if (result.decision !== "accept") return;
  ctx.state.refused = undefined;
  log.info("plan accepted", { epoch: stored.epoch, revision: stored.revision, hash: stored.hash });
  try {
    ctx.onPlan(stored);
  } catch (err) {
    log.error("plan handler failed", { revision: stored.revision, error: err });
  }
}

/** Why the plan is not the cloud's, or undefined (also when this node keeps no key yet). */
function signatureProblem(ctx: EdgeLinkContext, msg: PlanContent): string | undefined {
  const key = ctx.planKey();
  if (!key) return undefined;
  // This node's name, not the message's: a plan signed for another node does not verify here.
  const { epoch, revision, hash, format, plan } = msg;
  return planSignatureProblem(key, { node: ctx.node, epoch, revision, hash, format, plan }, msg);
}

function refuse(ctx: EdgeLinkContext, msg: PlanContent, reason: string): void {
  ctx.dropped.inc("bad-signature");
  const { epoch, revision, hash } = msg;
  const before = ctx.state.refused;
  const again =
    before?.epoch === epoch &&
    before.revision === revision &&
    before.hash === hash &&
    before.reason === reason;
  if (again) return;
  ctx.log.error("plan refused: it is not signed by the cloud; keeping the current plan", {
    epoch,
    revision,
    reason,
  });
  ctx.state.refused = { epoch, revision, hash, reason };
  if (ctx.isReady()) sendHeartbeat(ctx);
}
