// The cloud's ack handler without a broker: an ack of exactly the desired plan marks it applied
// and tells the control plane after the commit; an older one or one of another epoch is recorded
// unverified; one the cloud never sent is counted, logged once and not recorded.
import { describe, expect, test } from "bun:test";
import { handleAck } from "../../../../src/cloud/link/handlers/ack.ts";
import { newMessage } from "../../../../src/protocol/messages.ts";
import { cloudFixture, EPOCH, T0 } from "./fixture.ts";

const ack = (revision: number, hash: string, epoch = EPOCH) =>
  newMessage("n1", { type: "ack", epoch, revision, hash });

describe("ack", () => {
  const cases: {
    name: string;
    ack: ReturnType<typeof ack>;
    row: Record<string, unknown>;
    applied: [string, number][];
    unsent: number;
  }[] = [
    {
      name: "matching the desired plan",
      ack: ack(3, "hash-3"),
      row: { applied_revision: 3, applied_hash: "hash-3", acked_at: new Date(T0).toISOString() },
      applied: [["n1", 3]],
      unsent: 0,
    },
    {
      name: "of an older revision",
      ack: ack(2, "hash-2"),
      row: { applied_revision: 2, applied_hash: "", acked_at: null },
      applied: [],
      unsent: 0,
    },
    {
      name: "of another epoch",
      ack: ack(3, "hash-3", "epoch-0"),
      row: { applied_revision: 0, applied_hash: "", acked_at: null },
      applied: [],
      unsent: 0,
    },
    {
      name: "of a revision never sent",
      ack: ack(9, "hash-9"),
      row: { applied_revision: 0, applied_hash: "", acked_at: null },
      applied: [],
      unsent: 1,
    },
    {
      name: "of the revision with another hash",
      ack: ack(3, "forged"),
      row: { applied_revision: 0, applied_hash: "", acked_at: null },
      applied: [],
      unsent: 1,
    },
  ];
  for (const c of cases) {
    test(`an ack ${c.name}`, () => {
      const f = cloudFixture();
      f.setPlan("n1", 3);
      handleAck(f.ctx, "n1", c.ack);
      expect(f.planRow("n1")).toMatchObject(c.row);
      expect(f.nodeRow("n1")).toMatchObject({ last_seen: new Date(T0).toISOString() });
      expect(f.ctx.dropped.get("unsent-plan")).toBe(c.unsent);
      // onApplied waits for the commit.
      expect(f.applied).toEqual([]);
      f.commit();
      expect(f.applied).toEqual(c.applied);
    });
  }

  test("a false report is logged once per node, and again after the node acked its real plan", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    const logged = () => f.logs.filter((l) => l.includes("never sent it")).length;
    handleAck(f.ctx, "n1", ack(9, "x"));
    handleAck(f.ctx, "n1", ack(9, "x"));
    expect(logged()).toBe(1);
    handleAck(f.ctx, "n1", ack(3, "hash-3"));
    handleAck(f.ctx, "n1", ack(9, "x"));
    expect(logged()).toBe(2);
    expect(f.ctx.dropped.get("unsent-plan")).toBe(3);
  });
});
