// The cloud stored a status batch (docs/PROTOCOL.md, "Status"): the outbox forgets the rows it
// carried unless they changed since (a newer status of a worker replaces an unsent older one), and
// what is still unsent goes out now. A status-ack and a sack (its compact form) say the same: the
// seq of the batch stored.
import type { EdgeLinkContext } from "./context.ts";
import { flushStatus } from "./outbound.ts";

export function handleStatusAck(ctx: EdgeLinkContext, seq: number): void {
  ctx.outbox.ack(seq);
  if (ctx.outbox.unsent() > 0) flushStatus(ctx, false);
}
