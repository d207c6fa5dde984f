// A plan from the cloud (docs/PROTOCOL.md, "Plan"): persisted, THEN acknowledged, THEN handed to
// the supervisor. A newer plan (or one of another epoch) is stored and acknowledged; a duplicate
// is acknowledged with what the node already runs; a plan this agent cannot read (a newer format)
// or cannot store is not acknowledged, so the cloud keeps offering it.
import { PLAN_FORMAT } from "../../../manifest/plan.ts";
import type { PlanMessage } from "../../../protocol/messages.ts";
import type { AcceptResult } from "../plan-store.ts";
import type { EdgeLinkContext } from "./context.ts";
import { sendUp } from "./outbound.ts";

export function handlePlan(ctx: EdgeLinkContext, msg: PlanMessage): void {
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
  log.info("plan accepted", { epoch: stored.epoch, revision: stored.revision, hash: stored.hash });
  try {
    ctx.onPlan(stored);
  } catch (err) {
    log.error("plan handler failed", { revision: stored.revision, error: err });
  }
}
