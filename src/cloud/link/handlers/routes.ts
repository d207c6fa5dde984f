// A node's mesh routes, whole (the latest replaces what it reported before): stored for
// GET /api/v1/routes.
import type { MessageOf } from "../../../protocol/messages.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";

export function handleRoutes(ctx: CloudLinkContext, node: string, msg: MessageOf<"routes">): void {
  ctx.records.recordRoutes(node, msg.routes, isoNow(ctx));
}
