// Packed plans without a broker: the cloud picks the smallest form (plain when small, deflated
// when large, a delta when the node has a base and little changed); the node rebuilds exactly the
// plan the cloud signed; a delta against a base the node does not have is refused as such; a
// deflated body is bounded before it is expanded (a zip bomb is refused, not inflated).
import { describe, expect, test } from "bun:test";
import { deflateRawSync } from "node:zlib";
import { decodeMessage, encodeMessage, newMessage, type PlanPacked } from "../../src/protocol/messages.ts";
import {
  MAX_PLAN_BYTES,
  type PackedBody,
  type PlanBody,
  packPlan,
  type StoredBase,
  unpackPlan,
} from "../../src/protocol/plan-packing.ts";

const EPOCH = "epoch-0123456789";
const services = (n: number, marker = "a") =>
  Array.from({ length: n }, (_, i) => ({
    name: `svc-${i}`,
    generation: 1,
    template: { command: ["/usr/bin/worker", "--port", String(8000 + i)], env: { MARK: marker } },
  }));

function full(revision: number, plan: Record<string, unknown>): PlanBody {
  return {
    type: "plan",
    epoch: EPOCH,
    revision,
    hash: `${revision}`.padStart(64, "h"),
    format: 2,
    plan,
    signature: "s".repeat(88),
    keyId: "k".repeat(22),
  };
}

/** What a node receives: the body through the real encoder and decoder. */
function wire(body: PlanBody | PackedBody): PlanPacked {
  const decoded = decodeMessage("e1", encodeMessage(newMessage("e1", body)), "down");
  if (!decoded.ok || decoded.msg.type !== "plan-packed")
    throw new Error(`not packed: ${JSON.stringify(decoded)}`);
  return decoded.msg;
}

const stored = (revision: number, plan: Record<string, unknown>): StoredBase => ({
  epoch: EPOCH,
  revision,
  hash: `${revision}`.padStart(64, "h"),
  plan,
});

describe("packing a plan", () => {
  test("a small plan goes plain; a large one deflated, and comes back whole", () => {
    expect(packPlan(full(2, { services: services(1) })).form).toBe("plain");
    const plan = { services: services(200) };
    const { body, form } = packPlan(full(2, plan));
    expect(form).toBe("deflated");
    expect(encodeMessage(newMessage("e1", body)).length).toBeLessThan(JSON.stringify(plan).length / 5);
    const back = unpackPlan(wire(body), () => undefined);
    expect(back.ok && back.msg).toMatchObject({ type: "plan", revision: 2, plan, signature: "s".repeat(88) });
  });

  test("with the node's base, a change of one value goes as a delta, rebuilt exactly", () => {
    const base = { services: services(50, "a") };
    const next = { services: services(50, "a") };
    (next.services[7] as { template: { env: { MARK: string } } }).template.env.MARK = "b";
    const { body, form } = packPlan(full(3, next), {
      revision: 2,
      hash: "2".padStart(64, "h"),
      plan: JSON.stringify(base),
    });
    expect(form).toBe("delta");
    expect(encodeMessage(newMessage("e1", body)).length).toBeLessThan(700);
    const back = unpackPlan(wire(body), () => stored(2, base));
    expect(back.ok && back.msg.plan).toEqual(next);
  });

  test("a base the node does not have (other revision, hash, epoch, or none): refused as base-mismatch", () => {
    const base = { services: services(50) };
    const next = { services: services(50, "z") };
    const { body } = packPlan(full(3, next), {
      revision: 2,
      hash: "2".padStart(64, "h"),
      plan: JSON.stringify(base),
    });
    const msg = wire(body);
    expect(msg.base).toBeDefined();
    for (const have of [
      undefined,
      stored(1, base),
      { ...stored(2, base), hash: "x".repeat(64) },
      { ...stored(2, base), epoch: "other" },
      stored(2, { services: [] }),
    ]) {
      const result = unpackPlan(msg, () => have);
      expect(result.ok ? "ok" : result.reason).toBe("base-mismatch");
    }
  });

  test("a base not older than the plan is never used", () => {
    const plan = { services: services(50) };
    const { form } = packPlan(full(3, plan), {
      revision: 3,
      hash: "3".padStart(64, "h"),
      plan: JSON.stringify(plan),
    });
    expect(form).not.toContain("delta");
  });
});

describe("bounded unpacking", () => {
  const packed = (extra: Partial<PackedBody>): PlanPacked =>
    newMessage("e1", {
      ...full(2, {}),
      plan: undefined,
      type: "plan-packed",
      ...extra,
    } as PackedBody) as PlanPacked;

  test("a zip bomb (16 MiB of zeros deflated to a few KiB) is refused at MAX_PLAN_BYTES", () => {
    const bomb = deflateRawSync(
      Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(16 << 20, 0x30), Buffer.from('"}')]),
    );
    expect(bomb.length).toBeLessThan(64 * 1024);
    const result = unpackPlan(packed({ deflated: bomb.toString("base64") }), () => undefined);
    expect(result.ok ? "ok" : result.reason).toBe("too-large");
    expect(MAX_PLAN_BYTES).toBe(1024 * 1024);
  });

  test("not deflate, not JSON, too deep, not an object, not a delta: bad-body", () => {
    const z = (text: string) => deflateRawSync(Buffer.from(text)).toString("base64");
    for (const extra of [
      { deflated: "bm90IGRlZmxhdGU=" },
      { deflated: z("not json") },
      { deflated: z(`${"[".repeat(100)}${"]".repeat(100)}`) },
      { deflated: z("[1,2]") },
      {},
      { base: { revision: 1, hash: "1".padStart(64, "h").slice(0, 16) }, delta: { not: "a list" } },
    ]) {
      const result = unpackPlan(packed(extra), () => stored(1, {}));
      expect(result.ok ? "ok" : result.reason).toBe("bad-body");
    }
  });
});
