// The cloud link's dispatcher. receive() checks what arrived on a topic (a node's up or presence
// topic, a valid message of that node) as it arrives; handleReceived() then, inside the batch's
// transaction (group-commit.ts, one unit per message), hands it to the handler of its type, one
// file each. A message from a node no longer in the nodes table is dropped, and a retained
// presence of such a node is cleared so it does not come back on every reconnect.
import { decodeMessage, type Message } from "../../../protocol/messages.ts";
import { parseNodeTopic, presenceTopic } from "../../../protocol/topics.ts";
import { handleAck } from "./ack.ts";
import type { CloudLinkContext } from "./context.ts";
import { handleBeat, handleHeartbeat } from "./heartbeat.ts";
import { handleHello } from "./hello.ts";
import { handlePresence } from "./presence.ts";
import { handleRoutes } from "./routes.ts";
import { handleStaging } from "./staging.ts";
import { handleStatus } from "./status.ts";

/** A message as received from a node: its topic, sender and channel, decoded. */
export interface Received {
  topic: string;
  node: string;
  channel: "up" | "presence";
  msg: Message;
}

/** Counts a dropped message by reason and logs it. */
function dropMessage(ctx: CloudLinkContext, topic: string, reason: string, detail?: string): void {
  ctx.dropped.inc(reason);
  ctx.log.warn("sync message dropped", { topic, reason, detail });
}

/**
 * What arrived on `topic`, decoded, or undefined when it is dropped (counted by reason) or
 * nothing (an empty retained presence is how a stale one is cleared).
 */
export function receive(ctx: CloudLinkContext, topic: string, payload: Buffer): Received | undefined {
  const parsed = parseNodeTopic(topic);
  if (!parsed || parsed.channel === "down") {
    dropMessage(ctx, topic, "wrong-topic");
    return undefined;
  }
  if (parsed.channel === "presence" && payload.length === 0) return undefined;
  const decoded = decodeMessage(parsed.node, payload, parsed.channel);
  if (!decoded.ok) {
    dropMessage(ctx, topic, decoded.reason, decoded.detail);
    return undefined;
  }
  return { topic, node: parsed.node, channel: parsed.channel, msg: decoded.msg };
}

export function handleReceived(ctx: CloudLinkContext, r: Received): void {
  ctx.state.messages++;
  if (!ctx.records.nodeExists(r.node)) {
    dropMessage(ctx, r.topic, "unknown-node");
    // A deleted node's retained presence would come back on every reconnect: clear it.
    if (r.channel === "presence") ctx.later(() => ctx.publish(presenceTopic(r.node), Buffer.alloc(0), true));
    return;
  }
  dispatch(ctx, r.node, r.msg);
}

export function dispatch(ctx: CloudLinkContext, node: string, msg: Message): void {
  switch (msg.type) {
    case "hello":
      handleHello(ctx, node, msg);
      return;
    case "heartbeat":
      handleHeartbeat(ctx, node, msg);
      return;
    case "beat":
      handleBeat(ctx, node, msg);
      return;
    case "ack":
      handleAck(ctx, node, msg);
      return;
    case "status":
      handleStatus(ctx, node, msg);
      return;
    case "routes":
      handleRoutes(ctx, node, msg);
      return;
    case "staging":
      handleStaging(ctx, node, msg);
      return;
    case "presence":
      handlePresence(ctx, node, msg);
      return;
    case "traffic":
      // Counts for the dashboard, in memory: nothing in the batch's transaction.
      ctx.onTraffic?.(node, msg, ctx.now());
      return;
    case "upgrade-report":
      ctx.onUpgradeReport?.(node, msg);
      return;
    default:
      // welcome, plan, upgrade, status-ack and sack go to nodes, never from them (decodeMessage checks the channel).
      ctx.dropped.inc("bad-schema");
  }
}
