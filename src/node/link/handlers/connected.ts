// The edge link's session became ready (connected and subscribed): a new connection. Presence
// online (retained, stamped like this connection's will), a fresh hello and its retries until a
// welcome, heartbeats, and every unacknowledged status row again (the cloud may not have them).
import { presenceTopic } from "../../../protocol/topics.ts";
import type { EdgeLinkContext } from "./context.ts";
import { flushStatus, presencePayload, retryHello, sendHello, startHeartbeats } from "./outbound.ts";

export function handleConnected(ctx: EdgeLinkContext): void {
  const { state } = ctx;
  ctx.publish(presenceTopic(ctx.node), presencePayload(ctx.node, true, state.connectionTs), true);
  state.welcomed = false;
  sendHello(ctx);
  state.cancelHelloRetry();
  retryHello(ctx, 0);
  startHeartbeats(ctx);
  flushStatus(ctx, true);
}
