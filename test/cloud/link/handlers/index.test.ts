// The cloud link's dispatcher without a broker: what arrives is checked (topic, message) and
// dropped with its reason; each message type reaches its handler; a message from a node no longer
// in the nodes table is dropped (and its retained presence cleared after the commit); a type that
// only travels to nodes is a schema error. And the session's connect.
import { describe, expect, test } from "bun:test";
import { handleConnected } from "../../../../src/cloud/link/handlers/connected.ts";
import { dispatch, handleReceived, receive } from "../../../../src/cloud/link/handlers/index.ts";
import { encodeMessage, newMessage } from "../../../../src/protocol/messages.ts";
import { downTopic, presenceTopic, upTopic } from "../../../../src/protocol/topics.ts";
import { cloudFixture, EPOCH, T0 } from "./fixture.ts";

describe("dispatch", () => {
  test("each message type from a node reaches its handler", () => {
    const f = cloudFixture();
    f.setPlan("n1", 1);
    const up = [
      newMessage("n1", { type: "ack", epoch: EPOCH, revision: 1, hash: "hash-1" }),
      newMessage("n1", { type: "heartbeat", epoch: EPOCH, appliedRevision: 1, outboxDepth: 0 }),
      newMessage("n1", { type: "status", seq: 5, workers: [] }),
      newMessage("n1", { type: "routes", routes: [] }),
      newMessage("n1", { type: "presence", online: true }),
      newMessage("n1", {
        type: "hello",
        epoch: EPOCH,
        appliedRevision: 1,
        planHash: "hash-1",
        agentVersion: "v",
        bootId: "b",
        addresses: [],
      }),
    ];
    for (const msg of up) dispatch(f.ctx, "n1", msg);
    f.commit();
    expect(f.applied).toEqual([["n1", 1]]); // ack
    expect(f.state.pendingSeen.has("n1")).toBe(false); // heartbeat set it, hello cleared it
    expect(f.statuses).toEqual([["n1", []]]); // status
    expect(f.state.connectedSince.get("n1")).toBe(T0); // presence
    expect(f.nodeRow("n1")).toMatchObject({ boot_id: "b" }); // hello
    expect(f.down().map((d) => d.msg.type)).toEqual(["welcome", "status-ack", "welcome"]);
    expect(f.ctx.dropped.get("bad-schema")).toBe(0);
  });

  test("a message type that only travels to nodes is a schema error", () => {
    const f = cloudFixture();
    dispatch(f.ctx, "n1", newMessage("n1", { type: "status-ack", seq: 1 }));
    expect(f.ctx.dropped.get("bad-schema")).toBe(1);
  });
});

describe("receive", () => {
  test("a node's message on its up or presence topic, decoded", () => {
    const f = cloudFixture();
    const msg = newMessage("n1", { type: "routes", routes: [] });
    expect(receive(f.ctx, upTopic("n1"), encodeMessage(msg))).toEqual({
      topic: upTopic("n1"),
      node: "n1",
      channel: "up",
      msg,
    });
    const online = newMessage("n1", { type: "presence", online: true });
    expect(receive(f.ctx, presenceTopic("n1"), encodeMessage(online))).toMatchObject({ channel: "presence" });
  });

  test("an empty retained presence (a cleared one) is nothing, not a drop", () => {
    const f = cloudFixture();
    expect(receive(f.ctx, presenceTopic("n1"), Buffer.alloc(0))).toBeUndefined();
    expect(f.logs).toEqual([]);
  });

  const drops: { name: string; topic: string; payload: Buffer; reason: string }[] = [
    {
      name: "a node's down topic",
      topic: downTopic("n1"),
      payload: encodeMessage(newMessage("n1", { type: "routes", routes: [] })),
      reason: "wrong-topic",
    },
    {
      name: "a topic outside levee's",
      topic: "levee/v1/other",
      payload: Buffer.from("{}"),
      reason: "wrong-topic",
    },
    { name: "not JSON", topic: upTopic("n1"), payload: Buffer.from("nope"), reason: "not-json" },
    {
      name: "a message that travels down, sent up",
      topic: upTopic("n1"),
      payload: encodeMessage(newMessage("n1", { type: "status-ack", seq: 1 })),
      reason: "bad-schema",
    },
    {
      name: "a message naming another node",
      topic: upTopic("n1"),
      payload: encodeMessage(newMessage("n2", { type: "routes", routes: [] })),
      reason: "wrong-node",
    },
  ];
  for (const c of drops) {
    test(`${c.name}: dropped as ${c.reason}`, () => {
      const f = cloudFixture();
      expect(receive(f.ctx, c.topic, c.payload)).toBeUndefined();
      expect(f.ctx.dropped.get(c.reason)).toBe(1);
      expect(f.logs.some((l) => l.includes("sync message dropped") && l.includes(c.reason))).toBe(true);
    });
  }
});

describe("handleReceived", () => {
  test("counts messages and hands a known node's message to its handler", () => {
    const f = cloudFixture();
    const msg = newMessage("n1", { type: "routes", routes: [] });
    handleReceived(f.ctx, { topic: upTopic("n1"), node: "n1", channel: "up", msg });
    expect(f.state.messages).toBe(1);
    expect(f.ctx.dropped.get("unknown-node")).toBe(0);
  });

  test("a node not in the nodes table: dropped; its retained presence cleared after the commit", () => {
    const f = cloudFixture();
    const beat = newMessage("gone", { type: "heartbeat", epoch: null, appliedRevision: 0, outboxDepth: 0 });
    handleReceived(f.ctx, { topic: upTopic("gone"), node: "gone", channel: "up", msg: beat });
    const presence = newMessage("gone", { type: "presence", online: true });
    handleReceived(f.ctx, { topic: presenceTopic("gone"), node: "gone", channel: "presence", msg: presence });
    expect(f.ctx.dropped.get("unknown-node")).toBe(2);
    expect(f.state.messages).toBe(2);
    expect(f.state.pendingSeen.size).toBe(0);
    expect(f.published).toEqual([]);
    f.commit();
    expect(f.published).toEqual([{ topic: presenceTopic("gone"), payload: Buffer.alloc(0), retain: true }]);
  });
});

describe("the session's connect", () => {
  test("what was sent is forgotten; nodes online and behind get their plans", () => {
    const f = cloudFixture(["a", "b", "c"]);
    for (const n of ["a", "b", "c"]) f.setPlan(n, 2);
    f.store.db.query("UPDATE nodes SET online = 1 WHERE name IN ('a', 'b')").run();
    f.store.db.query("UPDATE plans SET applied_revision = 2, applied_hash = 'hash-2' WHERE node = 'b'").run();
    f.state.sent.set("a", { revision: 2, hash: "hash-2", atMs: T0 - 10 });
    f.clock.ms = T0 + 1234;
    handleConnected(f.ctx);
    expect(f.state.readySince).toBe(T0 + 1234);
    expect(f.state.sent.size).toBe(0);
    expect(f.plansAsked).toEqual(["a"]); // b has its plan; c looks offline (it gets its plan on hello)
  });
});
