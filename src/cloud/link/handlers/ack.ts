// A node's ack of a plan (docs/PROTOCOL.md, "Plan"): exactly its desired plan marks it applied and
// tells the control plane after the commit; an older one is recorded unverified; one the cloud
// never sent is counted and logged, not recorded (unsent-plans.ts).
import type { Ack } from "../../../protocol/messages.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";

export function handleAck(ctx: CloudLinkContext, node: string, msg: Ack): void {
  const outcome = ctx.records.recordAck(node, msg, ctx.state.epoch, isoNow(ctx));
  if (outcome === "unsent") ctx.unsent.report(node, "ack", msg.revision, msg.hash);
  if (outcome !== "matched") return;
  ctx.state.acknowledged(node, msg.revision, msg.hash);
  ctx.unsent.clear(node);
  ctx.log.debug("plan acknowledged", { node, revision: msg.revision });
  ctx.later(() => ctx.onApplied?.(node, msg.revision));
}
