// The edge's plan handler without a broker: a newer plan (or one of another epoch) is stored,
// then acknowledged, then handed to the supervisor; a duplicate is acknowledged with what the
// node runs; a plan of an unknown format, or one that cannot be stored, is not acknowledged.
import { describe, expect, test } from "bun:test";
import { PLAN_FORMAT } from "../../../../src/manifest/plan.ts";
import { handlePlan } from "../../../../src/node/link/handlers/plan.ts";
import { acceptPlan, readStoredPlan } from "../../../../src/node/link/plan-store.ts";
import { newMessage, type PlanMessage } from "../../../../src/protocol/messages.ts";
import { edgeFixture, NODE } from "./fixture.ts";

const plan = (
  epoch: string,
  revision: number,
  hash = `hash-${revision}`,
  format: number | undefined = PLAN_FORMAT,
) =>
  newMessage(NODE, {
    type: "plan",
    epoch,
    revision,
    hash,
    ...(format === undefined ? {} : { format }),
    plan: { services: [`s${revision}`] },
  }) as PlanMessage;

describe("plan", () => {
  const cases: {
    name: string;
    incoming: PlanMessage;
    /** The plan the node then runs, and acknowledges (null: no ack at all). */
    acked: { epoch: string; revision: number; hash: string } | null;
    handedOn: boolean;
    logged?: string;
    dropped?: string;
  }[] = [
    {
      name: "newer",
      incoming: plan("a", 4),
      acked: { epoch: "a", revision: 4, hash: "hash-4" },
      handedOn: true,
    },
    {
      name: "of another epoch, a lower revision",
      incoming: plan("b", 1),
      acked: { epoch: "b", revision: 1, hash: "hash-1" },
      handedOn: true,
    },
    {
      name: "of the first format (no format field)",
      incoming: plan("a", 4, "hash-4", undefined),
      acked: { epoch: "a", revision: 4, hash: "hash-4" },
      handedOn: true,
    },
    {
      name: "a duplicate (the same revision again)",
      incoming: plan("a", 3),
      acked: { epoch: "a", revision: 3, hash: "hash-3" },
      handedOn: false,
    },
    {
      name: "older",
      incoming: plan("a", 2),
      acked: { epoch: "a", revision: 3, hash: "hash-3" },
      handedOn: false,
    },
    {
      name: "the same revision with another hash",
      incoming: plan("a", 3, "other"),
      acked: { epoch: "a", revision: 3, hash: "hash-3" },
      handedOn: false,
      logged: "plan with a known revision but another hash ignored",
    },
    {
      name: "of a format this agent does not know",
      incoming: plan("a", 4, "hash-4", PLAN_FORMAT + 1),
      acked: null,
      handedOn: false,
      logged: "plan of a newer format dropped",
      dropped: "bad-version",
    },
  ];
  for (const c of cases) {
    test(`a plan ${c.name}: ${c.acked ? `acks revision ${c.acked.revision}` : "no ack"}${c.handedOn ? ", handed on" : ""}`, () => {
      const f = edgeFixture();
      acceptPlan(f.store, { epoch: "a", revision: 3, hash: "hash-3", plan: { services: ["s3"] } });
      handlePlan(f.ctx, c.incoming);
      const acks = f.takeUp();
      expect(acks).toEqual(c.acked ? [expect.objectContaining({ type: "ack", ...c.acked })] : []);
      const stored = readStoredPlan(f.store);
      expect(stored).toMatchObject(c.acked ?? { epoch: "a", revision: 3, hash: "hash-3" });
      expect(f.onPlan).toEqual(c.handedOn ? [stored as NonNullable<typeof stored>] : []);
      if (c.logged) expect(f.logs.some((l) => l.includes(c.logged as string))).toBe(true);
      if (c.dropped) expect(f.ctx.dropped.get(c.dropped)).toBe(1);
    });
  }

  test("the first plan of a node that has none is accepted", () => {
    const f = edgeFixture();
    handlePlan(f.ctx, plan("a", 1));
    expect(f.takeUp()).toEqual([expect.objectContaining({ type: "ack", epoch: "a", revision: 1 })]);
    expect(f.onPlan.map((p) => p.revision)).toEqual([1]);
  });

  test("a plan that cannot be stored is not acknowledged (the cloud sends it again)", () => {
    const f = edgeFixture();
    const ctx = {
      ...f.ctx,
      plans: {
        ...f.ctx.plans,
        accept: () => {
          throw new Error("disk full");
        },
      },
    };
    handlePlan(ctx, plan("a", 1));
    expect(f.takeUp()).toEqual([]);
    expect(f.onPlan).toEqual([]);
    expect(f.logs.some((l) => l.includes("cannot store plan"))).toBe(true);
  });

  test("stored and acknowledged before it is handed on; a failing supervisor does not undo the ack", () => {
    const f = edgeFixture();
    const order: string[] = [];
    const ctx = {
      ...f.ctx,
      publish: (topic: string, payload: Buffer, retain?: boolean) => {
        order.push(`ack (stored: ${readStoredPlan(f.store)?.revision})`);
        return f.ctx.publish(topic, payload, retain);
      },
      onPlan: () => {
        order.push("handed on");
        throw new Error("supervisor broke");
      },
    };
    handlePlan(ctx, plan("a", 1));
    expect(order).toEqual(["ack (stored: 1)", "handed on"]);
    expect(f.logs.some((l) => l.includes("plan handler failed"))).toBe(true);
  });
});
