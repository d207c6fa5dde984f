// A node's hello (docs/PROTOCOL.md, "Connect"): record who it is and what it runs, welcome it,
// re-decide its phase, and send its plan when it lacks it, unless exactly that plan already went
// out on this connection less than a heartbeat ago (a repeated hello: hello-retry.ts).
import { isBehind } from "../../../protocol/heartbeat.ts";
import { planOnItsWay } from "../../../protocol/hello-retry.ts";
import type { Hello } from "../../../protocol/messages.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";
import { sendWelcome } from "./replies.ts";

export function handleHello(ctx: CloudLinkContext, node: string, msg: Hello): void {
  const { state, records, log } = ctx;
  const { epoch } = state;
  const { applied, head } = records.recordHello(node, msg, epoch, isoNow(ctx));
  if (applied === "unsent") ctx.unsent.report(node, "hello", msg.appliedRevision, msg.planHash);
  state.pendingSeen.delete(node);
  const { packedPlans, compactAcks, leanPlans } = msg;
  state.reads.set(node, { packedPlans, compactAcks, leanPlans });
  state.reported(node, { epoch: msg.epoch, revision: msg.appliedRevision, hash: msg.planHash });
  sendWelcome(ctx, node, head);
  ctx.sweepNode(node);
  if (!head) return;
  if (msg.epoch === epoch && msg.appliedRevision > head.revision) {
    log.warn("node is ahead of the cloud's plan (database restored without a new epoch?)", {
      node,
      nodeRevision: msg.appliedRevision,
      cloudRevision: head.revision,
    });
  }
  const reported = { epoch: msg.epoch, revision: msg.appliedRevision };
  if (!isBehind({ epoch, revision: head.revision }, reported) && msg.planHash === head.hash) return;
  // A repeated hello (the edge was not welcomed fast enough): its plan is already on its way.
  const connectedSince = state.connectedSince.get(node);
  if (planOnItsWay(state.sent.get(node), head, connectedSince, ctx.now(), state.heartbeatSeconds())) {
    state.helloRepeats++;
    log.debug("repeated hello: plan already sent on this connection", { node, revision: head.revision });
    return;
  }
  ctx.publishPlan(node);
}
