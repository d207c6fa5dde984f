// A node's staging reports, whole (staging-store.ts): stored; when one says a staged generation is
// all there, the cloud re-plans after the commit, which lets the generation through where it may
// (staging-hold.ts).
import type { MessageOf } from "../../../protocol/messages.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";

export function handleStaging(ctx: CloudLinkContext, node: string, msg: MessageOf<"staging">): void {
  const ready = ctx.records.recordStaging(node, msg.services, isoNow(ctx));
  if (ready && ctx.onStaged) {
    const onStaged = ctx.onStaged;
    ctx.later(() => onStaged(node));
  }
}
