// A node's presence (docs/PROTOCOL.md, "Presence and node phase"), retained, and its last will.
// Online begins a new connection: what was sent or told on the one before may be lost with it.
// An offline presence stamped before the current connection began is the will of a replaced
// connection and is ignored; any other one records the node offline and re-decides its phase.
import type { Presence } from "../../../protocol/messages.ts";
import type { CloudLinkContext } from "./context.ts";

export function handlePresence(ctx: CloudLinkContext, node: string, msg: Presence): void {
  const { state } = ctx;
  const ts = Date.parse(msg.ts);
  if (msg.online) {
    state.onlineTs.set(node, ts);
    state.connectedSince.set(node, ctx.now());
    state.told.delete(node);
  } else if (ts < (state.onlineTs.get(node) ?? Number.NEGATIVE_INFINITY)) {
    ctx.log.debug("stale offline presence ignored", { node, ts: msg.ts });
    return;
  } else state.connectedSince.delete(node);
  ctx.records.setPresence(node, msg.online);
  ctx.sweepNode(node);
}
