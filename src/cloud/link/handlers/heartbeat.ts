// A node's heartbeat (docs/PROTOCOL.md, "Heartbeat"): remember when it was heard from (written
// with the sweep), record its applied revision and the usage it carries (if any), make a silent
// node Ready again at once, welcome it again when it was told another interval, and resend its
// plan when it is behind: at once when the plan was not sent on this connection (its hello was
// lost), else at most once a heartbeat. A plan the node refused (its signature did not verify)
// is reported once per refusal (onPlanRefused: an event on the Node). A beat (the compact
// heartbeat of an idle node) is handled as a heartbeat of its applied plan, nothing more.

import { epochTag } from "../../../protocol/compact-messages.ts";
import { isBehind, planResendDue } from "../../../protocol/heartbeat.ts";
import type { Beat, Heartbeat } from "../../../protocol/messages.ts";
import { type CloudLinkContext, isoNow } from "./context.ts";
import { sendWelcome } from "./replies.ts";

/** What a heartbeat handler reads of one (a beat supplies the first two). */
type HeartbeatFields = Pick<Heartbeat, "epoch" | "appliedRevision" | "usage" | "planRefused">;

export function handleBeat(ctx: CloudLinkContext, node: string, msg: Beat): void {
  const { epoch } = ctx.state;
  // A tag of another epoch is not this cloud's: the node is behind whatever its revision.
  const theirs = msg.e === "" ? null : msg.e === epochTag(epoch) ? epoch : msg.e;
  handleHeartbeat(ctx, node, { epoch: theirs, appliedRevision: msg.r });
}

export function handleHeartbeat(ctx: CloudLinkContext, node: string, msg: HeartbeatFields): void {
  const { state, records } = ctx;
  const { epoch } = state;
  state.pendingSeen.set(node, isoNow(ctx));
  const { applied, head } = records.recordHeartbeat(node, msg, epoch);
  if (msg.usage) records.recordUsage(node, msg.usage, isoNow(ctx));
  noteRefusal(ctx, node, msg.planRefused);
  if (applied === "unsent") ctx.unsent.report(node, "heartbeat", msg.appliedRevision, null);
  // A node that was silent (Disconnected) is Ready again now, not at the next sweep.
  ctx.sweepNode(node);
  const hb = state.heartbeatSeconds();
  if (state.told.get(node) !== hb) sendWelcome(ctx, node, head);
  const reported = { epoch: msg.epoch, revision: msg.appliedRevision };
  if (!head || !isBehind({ epoch, revision: head.revision }, reported)) return;
  const last = state.sent.get(node);
  const sentAtMs =
    last?.revision === head.revision ? last.atMs : head.sentAt ? Date.parse(head.sentAt) : null;
  // Not sent on this connection (its hello was lost): now; else at most once a heartbeat.
  const onThisConnection =
    last?.revision === head.revision && last.atMs >= (state.connectedSince.get(node) ?? 0);
  if (!onThisConnection || planResendDue(sentAtMs, ctx.now(), hb)) ctx.publishPlan(node);
}

function noteRefusal(ctx: CloudLinkContext, node: string, refusal: Heartbeat["planRefused"]): void {
  const key = refusal && `${refusal.epoch}\0${refusal.revision}\0${refusal.hash}\0${refusal.reason}`;
  if (!refusal || !key || ctx.state.refused.get(node) === key) return;
  ctx.state.refused.set(node, key);
  ctx.log.error("node refused a plan", { node, revision: refusal.revision, reason: refusal.reason });
  ctx.later(() => ctx.onPlanRefused?.(node, refusal));
}
