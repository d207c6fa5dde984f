// The cloud's hello handler without a broker: who the node is gets recorded, a welcome goes out
// after the commit, and the plan is sent exactly when the node lacks it and it is not already on
// its way on this connection.
import { describe, expect, test } from "bun:test";
import { handleHello } from "../../../../src/cloud/link/handlers/hello.ts";
import { type Hello, newMessage } from "../../../../src/protocol/messages.ts";
import { cloudFixture, EPOCH, HEARTBEAT_S, T0 } from "./fixture.ts";

const hello = (fields: Partial<Pick<Hello, "epoch" | "appliedRevision" | "planHash">>): Hello =>
  newMessage("n1", {
    type: "hello",
    epoch: EPOCH,
    appliedRevision: 3,
    planHash: "hash-3",
    agentVersion: "v9",
    bootId: "boot-7",
    addresses: ["10.0.0.7"],
    ...fields,
  });

describe("hello", () => {
  const cases: {
    name: string;
    hello: Partial<Pick<Hello, "epoch" | "appliedRevision" | "planHash">>;
    planSent: boolean;
    unsent: number;
  }[] = [
    { name: "at the current revision", hello: {}, planSent: false, unsent: 0 },
    { name: "behind", hello: { appliedRevision: 2, planHash: "hash-2" }, planSent: true, unsent: 0 },
    {
      name: "with no plan at all",
      hello: { epoch: null, appliedRevision: 0, planHash: null },
      planSent: true,
      unsent: 0,
    },
    { name: "of another epoch, same revision", hello: { epoch: "epoch-0" }, planSent: true, unsent: 0 },
    { name: "at the revision with another hash", hello: { planHash: "forged" }, planSent: true, unsent: 1 },
    { name: "ahead of the cloud", hello: { appliedRevision: 9, planHash: "x" }, planSent: true, unsent: 1 },
  ];
  for (const c of cases) {
    test(`a node ${c.name}: welcomed${c.planSent ? ", and sent its plan" : ", no plan"}`, () => {
      const f = cloudFixture();
      f.setPlan("n1", 3);
      f.state.pendingSeen.set("n1", "2029-12-31T00:00:00.000Z");
      handleHello(f.ctx, "n1", hello(c.hello));

      expect(f.nodeRow("n1")).toMatchObject({
        online: 1,
        boot_id: "boot-7",
        agent_version: "v9",
        addresses: '["10.0.0.7"]',
        last_seen: new Date(T0).toISOString(),
      });
      expect(f.state.pendingSeen.has("n1")).toBe(false);
      expect(f.swept).toEqual(["n1"]);
      expect(f.plansAsked).toEqual(c.planSent ? ["n1"] : []);
      expect(f.ctx.dropped.get("unsent-plan")).toBe(c.unsent);
      // The welcome waits for the commit.
      expect(f.published).toEqual([]);
      f.commit();
      expect(f.down().map((d) => d.msg)).toEqual([
        expect.objectContaining({
          type: "welcome",
          epoch: EPOCH,
          desiredRevision: 3,
          heartbeatSeconds: HEARTBEAT_S,
        }),
      ]);
      expect(f.state.told.get("n1")).toBe(HEARTBEAT_S);
    });
  }

  test("a node ahead within the cloud's epoch is logged as such (a restored database)", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    handleHello(f.ctx, "n1", hello({ appliedRevision: 9 }));
    expect(f.logs.some((l) => l.includes("node is ahead of the cloud's plan"))).toBe(true);
    handleHello(f.ctx, "n1", hello({ epoch: "epoch-0", appliedRevision: 9 }));
    expect(f.logs.filter((l) => l.includes("node is ahead of the cloud's plan"))).toHaveLength(1);
  });

  test("a node without a plan row: welcomed with desired revision 0, nothing else", () => {
    const f = cloudFixture();
    handleHello(f.ctx, "n1", hello({ epoch: null, appliedRevision: 0, planHash: null }));
    f.commit();
    expect(f.down().map((d) => d.msg)).toEqual([
      expect.objectContaining({ type: "welcome", desiredRevision: 0 }),
    ]);
    expect(f.plansAsked).toEqual([]);
  });

  describe("a repeated hello from a node that lacks its plan", () => {
    const cases: {
      name: string;
      sentAt: number;
      revision: number;
      connectedAt: number | undefined;
      repeat: boolean;
    }[] = [
      {
        name: "sent on this connection just now: on its way",
        sentAt: T0 - 100,
        revision: 3,
        connectedAt: T0 - 1000,
        repeat: true,
      },
      {
        name: "sent before this connection began",
        sentAt: T0 - 2000,
        revision: 3,
        connectedAt: T0 - 1000,
        repeat: false,
      },
      {
        name: "sent a heartbeat ago or more",
        sentAt: T0 - HEARTBEAT_S * 1000,
        revision: 3,
        connectedAt: T0 - 9000,
        repeat: false,
      },
      {
        name: "an older revision was sent",
        sentAt: T0 - 100,
        revision: 2,
        connectedAt: T0 - 1000,
        repeat: false,
      },
      {
        name: "the connection is unknown",
        sentAt: T0 - 100,
        revision: 3,
        connectedAt: undefined,
        repeat: false,
      },
    ];
    for (const c of cases) {
      test(`${c.name}: ${c.repeat ? "welcome only" : "the plan again"}`, () => {
        const f = cloudFixture();
        f.setPlan("n1", 3);
        f.state.sent.set("n1", { revision: c.revision, hash: `hash-${c.revision}`, atMs: c.sentAt });
        if (c.connectedAt !== undefined) f.state.connectedSince.set("n1", c.connectedAt);
        handleHello(f.ctx, "n1", hello({ epoch: null, appliedRevision: 0, planHash: null }));
        expect(f.plansAsked).toEqual(c.repeat ? [] : ["n1"]);
        expect(f.state.helloRepeats).toBe(c.repeat ? 1 : 0);
        f.commit();
        expect(f.down().map((d) => d.msg.type)).toEqual(["welcome"]);
      });
    }
  });
});
