// A node's worker status (docs/PROTOCOL.md, "Status"): store it, then (after the commit) answer
// with a status-ack of its seq, on which the edge deletes the outbox rows the batch carried, and
// tell the control plane.
import type { Status } from "../../../protocol/messages.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";
import { sendToNode } from "./replies.ts";

export function handleStatus(ctx: CloudLinkContext, node: string, msg: Status): void {
  ctx.records.recordWorkerStatus(node, msg.workers, isoNow(ctx));
  // After the commit: the edge deletes its outbox rows when it gets this.
  sendToNode(ctx, node, { type: "status-ack", seq: msg.seq });
  ctx.later(() => ctx.onStatus?.(node, msg.workers));
}
