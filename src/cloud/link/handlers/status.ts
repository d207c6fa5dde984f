// A node's worker status (docs/PROTOCOL.md, "Status"): store it, then (after the commit) answer
// with an ack of its seq, on which the edge deletes the outbox rows the batch carried, and tell
// the control plane. The ack is a sack (a few bytes, QoS 0) to a node whose hello said it reads
// them, else a full status-ack: a lost sack leaves the rows unacknowledged, and the node's next
// heartbeat sends them again, which this answers again.
import { encodeSack } from "../../../protocol/compact-messages.ts";
import type { Status } from "../../../protocol/messages.ts";
import { downTopic } from "../../../protocol/topics.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";
import { sendToNode } from "./replies.ts";

export function handleStatus(ctx: CloudLinkContext, node: string, msg: Status): void {
  ctx.records.recordWorkerStatus(node, msg.workers, isoNow(ctx));
  // After the commit: the edge deletes its outbox rows when it gets this.
  if (ctx.state.nodeReads(node, "compactAcks")) {
    const payload = encodeSack(msg.seq);
    ctx.later(() => ctx.publishUnacked(downTopic(node), payload));
  } else sendToNode(ctx, node, { type: "status-ack", seq: msg.seq });
  ctx.later(() => ctx.onStatus?.(node, msg.workers));
}
