// The edge link's dispatcher without a broker: a topic outside the protocol goes to its reader;
// on this node's down topic each message type reaches its handler; anything else is dropped with
// its reason.
import { describe, expect, test } from "bun:test";
import { handleIncoming } from "../../../../src/node/link/handlers/index.ts";
import { encodeSack } from "../../../../src/protocol/compact-messages.ts";
import { encodeMessage, newMessage } from "../../../../src/protocol/messages.ts";
import { CATALOG_TOPIC, downTopic, presenceTopic, upTopic } from "../../../../src/protocol/topics.ts";
import { edgeFixture, NODE, worker } from "./fixture.ts";

describe("handleIncoming", () => {
  test("a topic subscribed outside the protocol goes to its reader, whatever it holds", () => {
    const f = edgeFixture();
    const read: string[] = [];
    f.state.extraTopics.set(CATALOG_TOPIC, (payload) => read.push(payload.toString()));
    handleIncoming(f.ctx, CATALOG_TOPIC, Buffer.from("not a sync message"));
    expect(read).toEqual(["not a sync message"]);
    expect(f.ctx.dropped.get("wrong-topic")).toBe(0);
  });

  test("welcome, plan and status-ack reach their handlers", () => {
    const f = edgeFixture();
    f.outbox.record(worker("web", "Running"));
    const { seq } = f.outbox.nextBatch() as { seq: number };
    const down = [
      newMessage(NODE, { type: "welcome", epoch: "a", desiredRevision: 1, heartbeatSeconds: 5 }),
      newMessage(NODE, { type: "plan", epoch: "a", revision: 1, hash: "h1", format: 1, plan: {} }),
      newMessage(NODE, { type: "status-ack", seq }),
    ];
    for (const msg of down) handleIncoming(f.ctx, downTopic(NODE), encodeMessage(msg));
    expect(f.state.welcomed).toBe(true);
    expect(f.onPlan.map((p) => p.revision)).toEqual([1]);
    expect(f.outbox.depth()).toBe(0);
    expect(f.takeUp().map((m) => m.type)).toEqual(["ack"]);
  });

  test("a sack (the compact status-ack, no node on the wire) acks its batch like a status-ack", () => {
    const f = edgeFixture();
    f.outbox.record(worker("web", "Running"));
    const first = f.outbox.nextBatch() as { seq: number };
    f.outbox.record(worker("db", "Running"));
    handleIncoming(f.ctx, downTopic(NODE), encodeSack(first.seq));
    // web's row is gone; db's, never sent, goes out at once (as after a status-ack).
    expect(f.outbox.depth()).toBe(1);
    const up = f.takeUp();
    expect(up.map((m) => (m.type === "status" ? m.workers.map((w) => w.service) : m.type))).toEqual([["db"]]);
    expect(f.ctx.dropped.get("bad-schema")).toBe(0);
  });

  const drops: { name: string; topic: string; payload: Buffer; reason: string }[] = [
    {
      name: "another node's down topic",
      topic: downTopic("e2"),
      payload: encodeMessage(newMessage("e2", { type: "status-ack", seq: 1 })),
      reason: "wrong-topic",
    },
    {
      name: "this node's up topic",
      topic: upTopic(NODE),
      payload: encodeMessage(newMessage(NODE, { type: "status-ack", seq: 1 })),
      reason: "wrong-topic",
    },
    {
      name: "this node's presence",
      topic: presenceTopic(NODE),
      payload: Buffer.from("{}"),
      reason: "wrong-topic",
    },
    {
      name: "a topic outside levee",
      topic: "elsewhere/x",
      payload: Buffer.from("{}"),
      reason: "wrong-topic",
    },
    { name: "not JSON", topic: downTopic(NODE), payload: Buffer.from("{"), reason: "not-json" },
    {
      name: "another protocol version",
      topic: downTopic(NODE),
      payload: Buffer.from(JSON.stringify({ v: 2, type: "status-ack" })),
      reason: "bad-version",
    },
    {
      name: "a message that travels up, sent down",
      topic: downTopic(NODE),
      payload: encodeMessage(newMessage(NODE, { type: "ack", epoch: "a", revision: 1, hash: "h" })),
      reason: "bad-schema",
    },
    {
      name: "a message naming another node",
      topic: downTopic(NODE),
      payload: encodeMessage(newMessage("e2", { type: "status-ack", seq: 1 })),
      reason: "wrong-node",
    },
    {
      name: "a sack without a seq it could be",
      topic: downTopic(NODE),
      payload: Buffer.from(JSON.stringify({ v: 1, type: "sack", s: 0 })),
      reason: "bad-schema",
    },
  ];
  for (const c of drops) {
    test(`${c.name}: dropped as ${c.reason}`, () => {
      const f = edgeFixture();
      handleIncoming(f.ctx, c.topic, c.payload);
      expect(f.ctx.dropped.get(c.reason)).toBe(1);
      expect(f.logs.some((l) => l.includes("sync message dropped") && l.includes(c.reason))).toBe(true);
      expect(f.sent).toEqual([]);
    });
  }
});
