// The cloud link's session became ready (connected and subscribed): a new connection of the
// cloud's own. What it sent before may have been lost with the old one, so it forgets it; plans
// changed while it was away go now to the nodes that look online (the rest get theirs on hello).
import type { CloudLinkContext } from "./context.ts";

export function handleConnected(ctx: CloudLinkContext): void {
  ctx.state.readySince = ctx.now();
  ctx.state.sent.clear();
  for (const node of ctx.records.nodesBehind()) ctx.publishPlan(node);
}
