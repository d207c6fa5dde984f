// What the edge sends on its own initiative: hello (and, until a welcome answers it, hello again),
// heartbeats carrying the applied revision (and, at most every 30 s, the node's usage), worker
// status batches from the durable outbox, and its presence. The handlers and edge-link.ts call
// these; none of them waits for an answer.

import { encodeBeat } from "../../../protocol/compact-messages.ts";
import { HELLO_RETRY_CAP_MS, helloRetryDelayMs } from "../../../protocol/hello-retry.ts";
import { type Body, encodeMessage, type MessageType, newMessage } from "../../../protocol/messages.ts";
import { upTopic } from "../../../protocol/topics.ts";
import type { EdgeLinkContext } from "./context.ts";

/** Status batches published per flush (the rest go on the next one or after their acks). */
const FLUSH_BATCHES = 20;
/** A recorded status waits this long for others to go out with it. */
const FLUSH_DELAY_MS = 20;

/** Publishes a message on this node's up topic; false when not sent. */
export function sendUp<T extends MessageType>(ctx: EdgeLinkContext, body: Body<T> & { type: T }): boolean {
  return ctx.publish(upTopic(ctx.node), encodeMessage(newMessage<T>(ctx.node, body)));
}

/** A presence message stamped with `ts` (when its connection began), not with now. */
export function presencePayload(node: string, online: boolean, ts: string): Buffer {
  return encodeMessage({ ...newMessage(node, { type: "presence", online }), ts });
}

export function sendHello(ctx: EdgeLinkContext): void {
  const v = ctx.plans.version();
  sendUp(ctx, {
    type: "hello",
    epoch: v?.epoch ?? null,
    appliedRevision: v?.revision ?? 0,
    planHash: v?.hash ?? null,
    ...ctx.agent,
    packedPlans: true,
    compactAcks: true,
    leanPlans: true,
  });
}

/**
 * A hello is a question: until a welcome answers it on this connection, ask again after
 * [1, 2) s, [2, 4) s, ... up to a minute apart, jittered so that edges that connected together
 * do not ask again together (hello-retry.ts). A hello is lost when the cloud was not subscribed
 * yet, e.g. an edge that reached an external broker before a starting cloud did; a cloud that
 * is merely slow answers a repeat with a welcome only. (Heartbeats, which also get a welcome,
 * go on meanwhile.)
 */
export function retryHello(ctx: EdgeLinkContext, attempt: number): void {
  const { state } = ctx;
  state.helloTimer = ctx.clock.after(helloRetryDelayMs(attempt, HELLO_RETRY_CAP_MS), () => {
    state.helloTimer = undefined;
    if (state.welcomed || !ctx.isReady()) return;
    sendHello(ctx);
    retryHello(ctx, attempt + 1);
  });
}

/**
 * A heartbeat now (also what a refused plan is reported with, without waiting for the timer): a
 * beat (QoS 0, a few dozen bytes) when the cloud reads them and there is nothing else to say,
 * else a heartbeat with the usage, the refused plan and the outbox depth.
 */
export function sendHeartbeat(ctx: EdgeLinkContext): void {
  const v = ctx.plans.version();
  const usage = ctx.isReady() ? ctx.usage?.next(ctx.clock.now()) : undefined;
  const depth = ctx.outbox.depth();
  if (ctx.state.beats && !usage && !ctx.state.refused && depth === 0) {
    ctx.publishUnacked(upTopic(ctx.node), encodeBeat(v?.epoch ?? null, v?.revision ?? 0));
    return;
  }
  sendUp(ctx, {
    type: "heartbeat",
    epoch: v?.epoch ?? null,
    appliedRevision: v?.revision ?? 0,
    outboxDepth: depth,
    ...(usage ? { usage } : {}),
    ...(ctx.state.refused ? { planRefused: ctx.state.refused } : {}),
  });
  flushStatus(ctx, true);
}

/** (Re)starts the heartbeat timer at the state's interval. */
export function startHeartbeats(ctx: EdgeLinkContext): void {
  const { state } = ctx;
  state.heartbeatTimer?.();
  state.heartbeatTimer = ctx.clock.every(state.heartbeatSeconds * 1000, () => sendHeartbeat(ctx));
}

/** Publishes outbox batches: with `resend`, first one batch of any unacked rows. */
export function flushStatus(ctx: EdgeLinkContext, resend: boolean): void {
  if (!ctx.isReady()) return;
  try {
    // A batch is taken (its rows marked sent) only when it is published now: one taken and not
    // sent would wait for the next heartbeat's resend.
    let batch = ctx.outbox.nextBatch({ resend });
    for (let n = 1; batch; n++) {
      if (!sendUp(ctx, { type: "status", seq: batch.seq, workers: batch.workers })) return;
      if (n >= FLUSH_BATCHES) return;
      batch = ctx.outbox.nextBatch();
    }
  } catch (err) {
    ctx.log.error("cannot send worker status", { error: err });
  }
}

/** Flushes the outbox shortly, once for every status recorded meanwhile (when connected). */
export function scheduleFlush(ctx: EdgeLinkContext): void {
  const { state } = ctx;
  if (state.flushTimer || !ctx.isReady()) return;
  state.flushTimer = ctx.clock.after(FLUSH_DELAY_MS, () => {
    state.flushTimer = undefined;
    flushStatus(ctx, false);
  });
}
