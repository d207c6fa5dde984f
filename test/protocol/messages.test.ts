// Sync messages: every type round-trips, and each kind of bad payload is dropped with its reason.
import { describe, expect, test } from "bun:test";
import { encodeSack } from "../../src/protocol/compact-messages.ts";
import {
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  MessageTooLargeError,
  newMessage,
} from "../../src/protocol/messages.ts";
import { workerStatus } from "./worker-status.ts";

const buf = (value: unknown) => Buffer.from(JSON.stringify(value));
const hello = () =>
  newMessage("edge1", {
    type: "hello",
    epoch: null,
    appliedRevision: 0,
    planHash: null,
    agentVersion: "0.1.0",
    bootId: "b",
    addresses: ["127.0.0.11"],
  });

describe("messages", () => {
  test("every type round-trips through encode/decode", () => {
    const all = [
      hello(),
      newMessage("edge1", { type: "welcome", epoch: "e", desiredRevision: 3, heartbeatSeconds: 5 }),
      newMessage("edge1", { type: "plan", epoch: "e", revision: 3, hash: "h", plan: { services: [] } }),
      newMessage("edge1", { type: "ack", epoch: "e", revision: 3, hash: "h" }),
      newMessage("edge1", { type: "heartbeat", epoch: "e", appliedRevision: 3, outboxDepth: 0 }),
      newMessage("edge1", { type: "status", seq: 1, workers: [workerStatus("echo", "Running")] }),
      newMessage("edge1", { type: "status-ack", seq: 1 }),
      newMessage("edge1", { type: "presence", online: true }),
    ];
    for (const msg of all) {
      const decoded = decodeMessage("edge1", encodeMessage(msg));
      expect(decoded).toEqual({ ok: true, msg });
    }
  });

  test("the envelope: v 1, the node, an id and a time", () => {
    const msg = hello();
    expect(msg.v).toBe(1);
    expect(msg.node).toBe("edge1");
    expect(msg.id.length).toBeGreaterThan(8);
    expect(Number.isNaN(Date.parse(msg.ts))).toBe(false);
  });

  test("too large", () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    expect(decodeMessage("edge1", big)).toMatchObject({ ok: false, reason: "too-large" });
    const plan = newMessage("edge1", {
      type: "plan",
      epoch: "e",
      revision: 1,
      hash: "h",
      plan: { blob: "x".repeat(MAX_MESSAGE_BYTES) },
    });
    expect(() => encodeMessage(plan)).toThrow(MessageTooLargeError);
  });

  test("not JSON, or not an object", () => {
    expect(decodeMessage("edge1", Buffer.from("{nope"))).toMatchObject({ ok: false, reason: "not-json" });
    expect(decodeMessage("edge1", Buffer.from(""))).toMatchObject({ ok: false, reason: "not-json" });
    expect(decodeMessage("edge1", buf([1, 2]))).toMatchObject({ ok: false, reason: "not-json" });
    expect(decodeMessage("edge1", buf("hello"))).toMatchObject({ ok: false, reason: "not-json" });
  });

  test("nesting deeper than 64 levels: dropped as too-deep before parsing, never a throw", () => {
    const deepArray = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    const envelope = (fields: string) => Buffer.from(`{"v":1,"node":"edge1","id":"i","ts":"t",${fields}}`);
    const payloads = [
      Buffer.from(deepArray),
      envelope(`"type":"plan","epoch":"e","revision":1,"hash":"h","plan":{"services":${deepObject}}`),
      envelope(
        `"type":"hello","epoch":null,"appliedRevision":0,"planHash":null,"agentVersion":"1","bootId":"b","addresses":${deepArray}`,
      ),
      envelope(`"type":"status","seq":1,"workers":[${deepObject}]`),
    ];
    for (const payload of payloads) {
      const decoded = decodeMessage("edge1", payload);
      expect(decoded).toEqual({
        ok: false,
        reason: "too-deep",
        detail: expect.stringMatching(/^the message nests deeper than 64 levels \(at line 1, column \d+\)$/),
      });
    }
    // 64 levels (the envelope, the plan, its field and 61 arrays) is still a message
    const within = newMessage("edge1", {
      type: "plan",
      epoch: "e",
      revision: 1,
      hash: "h",
      plan: { deep: JSON.parse(`${"[".repeat(61)}${"]".repeat(61)}`) },
    });
    expect(decodeMessage("edge1", encodeMessage(within)).ok).toBe(true);
  });

  test("unknown or missing version", () => {
    expect(decodeMessage("edge1", buf({ ...hello(), v: 2 }))).toMatchObject({
      ok: false,
      reason: "bad-version",
    });
    const { v: _v, ...noVersion } = hello();
    expect(decodeMessage("edge1", buf(noVersion))).toMatchObject({ ok: false, reason: "bad-version" });
  });

  test("schema: unknown type, missing or mistyped field, wrong channel", () => {
    expect(decodeMessage("edge1", buf({ ...hello(), type: "reboot" }))).toMatchObject({
      ok: false,
      reason: "bad-schema",
    });
    const { bootId: _b, ...missing } = hello();
    expect(decodeMessage("edge1", buf(missing))).toMatchObject({ ok: false, reason: "bad-schema" });
    const bad = decodeMessage("edge1", buf({ ...hello(), appliedRevision: -1 }));
    expect(bad).toMatchObject({ ok: false, reason: "bad-schema" });
    if (!bad.ok) expect(bad.detail).toContain("appliedRevision");
    const plan = newMessage("edge1", { type: "plan", epoch: "e", revision: 1, hash: "h", plan: [] as never });
    expect(decodeMessage("edge1", buf(plan))).toMatchObject({ ok: false, reason: "bad-schema" });
    // A node cannot send a plan upward; a cloud message cannot arrive as presence.
    const okPlan = newMessage("edge1", { type: "plan", epoch: "e", revision: 1, hash: "h", plan: {} });
    expect(decodeMessage("edge1", encodeMessage(okPlan), "up")).toMatchObject({
      ok: false,
      reason: "bad-schema",
    });
    expect(decodeMessage("edge1", encodeMessage(okPlan), "down").ok).toBe(true);
    expect(decodeMessage("edge1", encodeMessage(hello()), "presence")).toMatchObject({
      ok: false,
      reason: "bad-schema",
    });
  });

  test("node in the envelope must match the topic's node", () => {
    expect(decodeMessage("edge2", encodeMessage(hello()))).toMatchObject({ ok: false, reason: "wrong-node" });
  });

  test("unknown extra fields are ignored (forward compatible within v1)", () => {
    const decoded = decodeMessage("edge1", buf({ ...hello(), later: true }));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect("later" in decoded.msg).toBe(false);
  });
});

describe("lean packed plans", () => {
  const lean = { v: 1, type: "plan-packed", epoch: "e", revision: 2, hash: "h", delta: [] };
  test("no node, id or ts on the wire: the node comes from the topic; only down", () => {
    expect(decodeMessage("edge1", buf(lean), "down")).toMatchObject({
      ok: true,
      msg: { node: "edge1", type: "plan-packed", revision: 2 },
    });
    expect(decodeMessage("edge1", buf(lean), "up")).toMatchObject({ ok: false, reason: "bad-schema" });
    expect(decodeMessage("edge1", buf({ ...lean, node: "edge2" }), "down")).toMatchObject({
      ok: false,
      reason: "wrong-node",
    });
  });

  test("a plain plan still needs its whole envelope", () => {
    const { delta: _d, ...fields } = lean;
    const decoded = decodeMessage("edge1", buf({ ...fields, type: "plan", plan: {} }), "down");
    expect(decoded).toMatchObject({ ok: false, reason: "bad-schema" });
  });
});

describe("sacks (the compact status-ack)", () => {
  test("a few bytes: no id, no timestamp, no node; the node comes from the topic", () => {
    const payload = encodeSack(42);
    expect(payload.toString()).toBe('{"v":1,"type":"sack","s":42}');
    expect(decodeMessage("edge1", payload, "down")).toEqual({
      ok: true,
      msg: { v: 1, node: "edge1", type: "sack", s: 42 },
    });
    expect(decodeMessage("edge2", payload, "down")).toMatchObject({ ok: true, msg: { node: "edge2" } });
  });

  test("only on the down channel: a node cannot send one up", () => {
    expect(decodeMessage("edge1", encodeSack(1), "up")).toEqual({
      ok: false,
      reason: "bad-schema",
      detail: "sack does not belong on up",
    });
    expect(decodeMessage("edge1", encodeSack(1), "presence")).toMatchObject({
      ok: false,
      reason: "bad-schema",
    });
  });

  test("a node named on the wire must be the topic's", () => {
    expect(decodeMessage("edge1", buf({ v: 1, node: "edge1", type: "sack", s: 3 }), "down")).toMatchObject({
      ok: true,
    });
    expect(decodeMessage("edge1", buf({ v: 1, node: "edge2", type: "sack", s: 3 }), "down")).toMatchObject({
      ok: false,
      reason: "wrong-node",
    });
  });

  const bad: [string, unknown, string][] = [
    ["no seq", { v: 1, type: "sack" }, "s"],
    ["seq 0", { v: 1, type: "sack", s: 0 }, "s"],
    ["a fractional seq", { v: 1, type: "sack", s: 1.5 }, "s"],
    ["a seq as text", { v: 1, type: "sack", s: "1" }, "s"],
    ["a node that is not a name", { v: 1, type: "sack", s: 1, node: "" }, "node"],
  ];
  for (const [name, value, field] of bad) {
    test(`${name}: dropped, naming the field`, () => {
      const decoded = decodeMessage("edge1", buf(value), "down");
      expect(decoded).toMatchObject({ ok: false, reason: "bad-schema" });
      if (!decoded.ok) expect(decoded.detail.startsWith(`${field}:`)).toBe(true);
    });
  }

  test("another version is dropped before its fields are read", () => {
    expect(decodeMessage("edge1", buf({ v: 2, type: "sack", s: 1 }), "down")).toMatchObject({
      ok: false,
      reason: "bad-version",
    });
  });
});
