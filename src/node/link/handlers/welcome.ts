// The cloud's welcome (docs/PROTOCOL.md, "Connect"): the hello is answered, so no more asking;
// the mesh routes and staging reports go again (the cloud may have missed them); what the cloud
// wants this node to run is remembered for `levee edge status`; a new heartbeat interval restarts
// the heartbeats; then whoever listens for welcomes (an agent upgrade's report goes again) hears of it.
import type { Welcome } from "../../../protocol/messages.ts";
import type { EdgeLinkContext } from "./context.ts";
import { sendUp, startHeartbeats } from "./outbound.ts";

export function handleWelcome(ctx: EdgeLinkContext, msg: Welcome): void {
  const { state } = ctx;
  state.welcomed = true;
  state.beats = msg.beat === true;
  if (state.routes) sendUp(ctx, { type: "routes", routes: state.routes });
  if (state.staging) sendUp(ctx, { type: "staging", services: state.staging });
  state.cancelHelloRetry();
  state.cloud = { epoch: msg.epoch, desiredRevision: msg.desiredRevision };
  if (msg.heartbeatSeconds !== state.heartbeatSeconds) {
    state.heartbeatSeconds = msg.heartbeatSeconds;
    startHeartbeats(ctx);
  }
  for (const listener of state.welcomeListeners) listener();
}
