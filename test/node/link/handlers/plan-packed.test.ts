// The edge's packed-plan handler without a broker: a delta against the stored plan is rebuilt,
// its signature (over the whole plan) verified, stored, acknowledged and counted as a delta; a
// tampered delta is refused like a tampered plan; a delta against a plan this node does not have
// is dropped (levee_sync_dropped_total{reason="delta-base"}) and the node says hello again.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { planSigner } from "../../../../src/cloud/plan-signing-key.ts";
import { handlePlanPacked } from "../../../../src/node/link/handlers/plan-packed.ts";
import { acceptPlan, readStoredPlan } from "../../../../src/node/link/plan-store.ts";
import { savePlanKey } from "../../../../src/node/plan-key.ts";
import {
  decodeMessage,
  encodeMessage,
  newMessage,
  type PlanPacked,
} from "../../../../src/protocol/messages.ts";
import { packPlan } from "../../../../src/protocol/plan-packing.ts";
import { edgeFixture, NODE } from "./fixture.ts";

const cloud = planSigner(generateKeyPairSync("ed25519").privateKey);
const planAt = (mark: string) => ({
  services: Array.from({ length: 30 }, (_, i) => ({ name: `s${i}`, env: { MARK: i === 0 ? mark : "x" } })),
});

/** Revision 4 packed against revision 3 (the base), signed for this node. */
function delta(baseRevision = 3): PlanPacked {
  const fields = { epoch: "a", revision: 4, hash: "hash-4", format: 2, plan: planAt("new") };
  const full = { type: "plan" as const, ...fields, ...cloud.sign({ node: NODE, ...fields }) };
  const base = { revision: baseRevision, hash: `hash-${baseRevision}`, plan: JSON.stringify(planAt("old")) };
  const { body, form } = packPlan(full, base);
  expect(form).toBe("delta");
  return newMessage(NODE, body) as PlanPacked;
}

function keyed() {
  const f = edgeFixture();
  savePlanKey(f.store, cloud.key);
  acceptPlan(f.store, { epoch: "a", revision: 3, hash: "hash-3", plan: planAt("old") });
  return f;
}

describe("packed plans", () => {
  test("a delta against the stored plan: rebuilt, verified, stored, acknowledged, counted", () => {
    const f = keyed();
    handlePlanPacked(f.ctx, delta());
    expect(readStoredPlan(f.store)?.plan).toEqual(planAt("new"));
    expect(f.takeUp().map((m) => m.type)).toEqual(["ack"]);
    expect(f.onPlan.map((p) => p.revision)).toEqual([4]);
    expect(f.ctx.plansReceived.snapshot()).toEqual({ delta: 1 });
  });

  test("a lean delta (no node, id or ts on the wire): decoded on this node's topic, stored like any", () => {
    const f = keyed();
    const decoded = decodeMessage(NODE, encodeMessage(delta(), true), "down");
    if (!decoded.ok || decoded.msg.type !== "plan-packed") throw new Error("not decoded");
    handlePlanPacked(f.ctx, decoded.msg);
    expect(readStoredPlan(f.store)?.plan).toEqual(planAt("new"));
    expect(f.takeUp().map((m) => m.type)).toEqual(["ack"]);
  });

  test("a tampered delta is refused: the rebuilt plan does not match the signature", () => {
    const f = keyed();
    const msg = delta();
    const tampered = { ...msg, delta: [[["services", 0, "env", "MARK"], "evil"]] } as PlanPacked;
    handlePlanPacked(f.ctx, tampered);
    expect(readStoredPlan(f.store)?.revision).toBe(3);
    expect(f.ctx.dropped.get("bad-signature")).toBe(1);
    expect(f.onPlan).toEqual([]);
  });

  test("a delta against a plan this node does not have: dropped, and a hello names what it has", () => {
    const f = keyed();
    handlePlanPacked(f.ctx, delta(2));
    expect(readStoredPlan(f.store)?.revision).toBe(3);
    expect(f.ctx.dropped.get("delta-base")).toBe(1);
    const up = f.takeUp();
    expect(up.map((m) => m.type)).toEqual(["hello"]);
    expect(up[0]).toMatchObject({ appliedRevision: 3, planHash: "hash-3", packedPlans: true });
    expect(f.onPlan).toEqual([]);
  });
});
