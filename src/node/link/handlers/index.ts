// The edge link's dispatcher: a payload on a topic this node subscribed to goes to the reader of
// that topic when it is one outside the plan protocol (subscribe), else it must be this node's
// down topic and a valid message, which goes to the handler of its type, one file each.
// Anything else is counted in levee_sync_dropped_total{reason} and logged.
import { decodeMessage, type Message } from "../../../protocol/messages.ts";
import { parseNodeTopic } from "../../../protocol/topics.ts";
import type { EdgeLinkContext } from "./context.ts";
import { handlePlan } from "./plan.ts";
import { handlePlanPacked } from "./plan-packed.ts";
import { handleStatusAck } from "./status-ack.ts";
import { handleWelcome } from "./welcome.ts";

export function handleIncoming(ctx: EdgeLinkContext, topic: string, payload: Buffer): void {
  const extra = ctx.state.extraTopics.get(topic);
  if (extra) {
    extra(payload);
    return;
  }
  const parsed = parseNodeTopic(topic);
  if (!parsed || parsed.node !== ctx.node || parsed.channel !== "down") {
    ctx.dropped.inc("wrong-topic");
    ctx.log.warn("sync message dropped", { topic, reason: "wrong-topic" });
    return;
  }
  const decoded = decodeMessage(ctx.node, payload, "down");
  if (!decoded.ok) {
    ctx.dropped.inc(decoded.reason);
    ctx.log.warn("sync message dropped", { topic, reason: decoded.reason, detail: decoded.detail });
    return;
  }
  dispatch(ctx, decoded.msg);
}

export function dispatch(ctx: EdgeLinkContext, msg: Message): void {
  switch (msg.type) {
    case "welcome":
      handleWelcome(ctx, msg);
      return;
    case "plan":
      ctx.plansReceived.inc("plain");
      handlePlan(ctx, msg);
      return;
    case "plan-packed":
      handlePlanPacked(ctx, msg);
      return;
    case "status-ack":
      handleStatusAck(ctx, msg.seq);
      return;
    case "sack":
      handleStatusAck(ctx, msg.s);
      return;
    case "upgrade":
      if (ctx.state.upgradeHandler) ctx.state.upgradeHandler(msg);
      else ctx.log.warn("upgrade order ignored: this agent takes none", { rollout: msg.rollout });
      return;
    default:
      // hello, ack, heartbeat, status, routes and staging go to the cloud, never to a node.
      ctx.dropped.inc("bad-schema");
  }
}
