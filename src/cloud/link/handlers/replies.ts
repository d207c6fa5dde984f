// What the cloud's handlers send back to a node: any message, after the open batch's commit (so
// no edge sees a reply the database might not keep), and the welcome, which answers both a hello
// and a heartbeat that shows the node was told another interval.
import { type Body, encodeMessage, type MessageType, newMessage } from "../../../protocol/messages.ts";
import { downTopic } from "../../../protocol/topics.ts";
import type { CloudLinkContext } from "./context.ts";

/** Encodes now (a message too large throws into the handler), publishes after the commit. */
export function sendToNode<T extends MessageType>(
  ctx: CloudLinkContext,
  node: string,
  body: Body<T> & { type: T },
): void {
  const payload = encodeMessage(newMessage<T>(node, body));
  ctx.later(() => {
    try {
      ctx.publish(downTopic(node), payload);
    } catch (err) {
      ctx.log.error("cannot send sync message", { node, type: body.type, error: err });
    }
  });
}

/**
 * The welcome: the cloud's epoch, the node's desired revision (of `head`, the node's plan head the
 * handler read), the heartbeat interval (remembered).
 */
export function sendWelcome(
  ctx: CloudLinkContext,
  node: string,
  head: { revision: number } | undefined,
): void {
  const { state } = ctx;
  const hb = state.heartbeatSeconds();
  state.told.set(node, hb);
  sendToNode(ctx, node, {
    type: "welcome",
    epoch: state.epoch,
    desiredRevision: head?.revision ?? 0,
    heartbeatSeconds: hb,
    beat: true,
  });
}
