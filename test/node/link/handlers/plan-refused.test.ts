// The edge's plan handler once the node keeps the cloud's plan-signing key: a signed plan is stored
// and acknowledged; a tampered, unsigned or foreign-key plan is refused (not stored, not
// acknowledged, not handed on), logged once, and reported at once in a heartbeat, which keeps
// carrying it until a plan is accepted. Without a key, plans are taken as before.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { planSigner } from "../../../../src/cloud/plan-signing-key.ts";
import { sendHeartbeat } from "../../../../src/node/link/handlers/outbound.ts";
import { handlePlan } from "../../../../src/node/link/handlers/plan.ts";
import { acceptPlan, readStoredPlan } from "../../../../src/node/link/plan-store.ts";
import { savePlanKey } from "../../../../src/node/plan-key.ts";
import { newMessage, type PlanMessage } from "../../../../src/protocol/messages.ts";
import { edgeFixture, NODE } from "./fixture.ts";

const cloud = planSigner(generateKeyPairSync("ed25519").privateKey);
const intruder = planSigner(generateKeyPairSync("ed25519").privateKey);

function signed(revision: number, signer = cloud, node = NODE): PlanMessage {
  const body = {
    type: "plan" as const,
    epoch: "a",
    revision,
    hash: `hash-${revision}`,
    format: 2,
    plan: { r: revision },
  };
  const { type: _type, ...fields } = body;
  return newMessage(NODE, { ...body, ...signer.sign({ node, ...fields }) }) as PlanMessage;
}

function keyedFixture() {
  const f = edgeFixture();
  savePlanKey(f.store, cloud.key);
  acceptPlan(f.store, { epoch: "a", revision: 3, hash: "hash-3", plan: { r: 3 } });
  return f;
}

describe("signed plans", () => {
  test("a plan signed by the cloud for this node is stored, acknowledged and handed on", () => {
    const f = keyedFixture();
    handlePlan(f.ctx, signed(4));
    expect(f.takeUp().map((m) => m.type)).toEqual(["ack"]);
    expect(f.onPlan.map((p) => p.revision)).toEqual([4]);
  });

  const refused: [string, () => PlanMessage, string][] = [
    ["a changed body", () => ({ ...signed(4), plan: { r: 666 } }), "does not match"],
    ["a changed revision", () => ({ ...signed(4), revision: 9 }), "does not match"],
    ["a changed epoch", () => ({ ...signed(4), epoch: "b" }), "does not match"],
    ["one signed for another node", () => signed(4, cloud, "e2"), "does not match"],
    [
      "no signature",
      () => {
        const { signature: _s, keyId: _k, ...rest } = signed(4);
        return rest as PlanMessage;
      },
      "not signed",
    ],
    ["another key", () => signed(4, intruder), "not the cloud's key"],
  ];
  for (const [name, make, reason] of refused) {
    test(`a plan with ${name} is refused and reported`, () => {
      const f = keyedFixture();
      handlePlan(f.ctx, make());
      expect(readStoredPlan(f.store)?.revision).toBe(3);
      expect(f.onPlan).toEqual([]);
      const up = f.takeUp();
      expect(up.map((m) => m.type)).toEqual(["heartbeat"]);
      const hb = up[0];
      if (hb?.type !== "heartbeat") throw new Error("no heartbeat");
      expect(hb.appliedRevision).toBe(3);
      expect(hb.planRefused?.reason).toContain(reason);
      expect(f.ctx.dropped.get("bad-signature")).toBe(1);
      expect(f.logs.filter((l) => l.includes("plan refused")).length).toBe(1);
    });
  }

  test("the same refused plan again is logged and reported once; heartbeats carry it until a plan is accepted", () => {
    const f = keyedFixture();
    const tampered = { ...signed(4), plan: { r: 666 } };
    handlePlan(f.ctx, tampered);
    handlePlan(f.ctx, tampered);
    expect(f.takeUp().map((m) => m.type)).toEqual(["heartbeat"]);
    expect(f.logs.filter((l) => l.includes("plan refused")).length).toBe(1);
    sendHeartbeat(f.ctx);
    const [hb] = f.takeUp();
    expect(hb?.type === "heartbeat" && hb.planRefused?.revision).toBe(4);
    handlePlan(f.ctx, signed(5));
    expect(readStoredPlan(f.store)?.revision).toBe(5);
    f.takeUp();
    sendHeartbeat(f.ctx);
    const [after] = f.takeUp();
    expect(after?.type === "heartbeat" && after.planRefused).toBeUndefined();
  });

  test("a node that keeps no key yet takes an unsigned plan as before", () => {
    const f = edgeFixture();
    const { signature: _s, keyId: _k, ...unsigned } = signed(1);
    handlePlan(f.ctx, unsigned as PlanMessage);
    expect(readStoredPlan(f.store)?.revision).toBe(1);
  });
});
