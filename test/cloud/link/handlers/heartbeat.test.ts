// The cloud's heartbeat handler without a broker: heard-from time kept in memory, the applied
// revision recorded, a welcome only when the node was told another interval, and the plan
// resent to a node that is behind: at once when not sent on this connection, else once a heartbeat.
import { describe, expect, test } from "bun:test";
import { handleBeat, handleHeartbeat } from "../../../../src/cloud/link/handlers/heartbeat.ts";
import { nodeUsage, workerUsage } from "../../../../src/cloud/usage-store.ts";
import { encodeBeat } from "../../../../src/protocol/compact-messages.ts";
import { decodeMessage, type Heartbeat, newMessage } from "../../../../src/protocol/messages.ts";
import { cloudFixture, EPOCH, HEARTBEAT_S, T0 } from "./fixture.ts";

const beat = (appliedRevision: number, epoch: string | null = EPOCH): Heartbeat =>
  newMessage("n1", { type: "heartbeat", epoch, appliedRevision, outboxDepth: 0 });

describe("heartbeat", () => {
  test("a plan the node refused is reported once (after the commit) per refusal", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    f.state.told.set("n1", HEARTBEAT_S);
    const refusals: [string, number, string][] = [];
    const ctx = {
      ...f.ctx,
      onPlanRefused: (node: string, r: { revision: number; reason: string }) => {
        refusals.push([node, r.revision, r.reason]);
      },
    };
    const planRefused = { epoch: EPOCH, revision: 4, hash: "h4", reason: "the plan is not signed" };
    handleHeartbeat(ctx, "n1", { ...beat(3), planRefused });
    expect(refusals).toEqual([]);
    f.commit();
    handleHeartbeat(ctx, "n1", { ...beat(3), planRefused });
    f.commit();
    expect(refusals).toEqual([["n1", 4, "the plan is not signed"]]);
    handleHeartbeat(ctx, "n1", { ...beat(3), planRefused: { ...planRefused, revision: 5 } });
    f.commit();
    expect(refusals.map((r) => r[1])).toEqual([4, 5]);
    expect(f.logs.filter((l) => l.includes("node refused a plan")).length).toBe(2);
  });

  test("heard-from time is kept for the sweep; the applied revision is recorded; the node is re-swept", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    f.state.told.set("n1", HEARTBEAT_S);
    handleHeartbeat(f.ctx, "n1", beat(3));
    expect(f.state.pendingSeen.get("n1")).toBe(new Date(T0).toISOString());
    expect(f.nodeRow("n1")).toMatchObject({ online: 1, last_seen: null });
    expect(f.planRow("n1")).toMatchObject({ applied_revision: 3 });
    expect(f.swept).toEqual(["n1"]);
    expect(f.plansAsked).toEqual([]);
    f.commit();
    expect(f.published).toEqual([]);
  });

  test("the usage a heartbeat carries is stored; a heartbeat without usage leaves it", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    f.state.told.set("n1", HEARTBEAT_S);
    const usage = {
      sampledAt: "2030-01-01T00:00:00.000Z",
      windowSeconds: 10,
      node: { cpuMillicores: 250, memoryKiB: 1024, cpus: 2, memoryCapacityKiB: 4096 },
      workers: [{ service: "web", index: 0, cpuMillicores: 12, memoryKiB: 53_248 }],
    };
    handleHeartbeat(f.ctx, "n1", { ...beat(3), usage });
    handleHeartbeat(f.ctx, "n1", beat(3));
    expect(nodeUsage(f.store.db)).toMatchObject([
      { node: "n1", cpuNanocores: 250_000_000, memoryBytes: 1024 * 1024 },
    ]);
    expect(workerUsage(f.store.db, { node: "n1" })).toMatchObject([
      { service: "web", index: 0, cpuNanocores: 12_000_000, memoryBytes: 53_248 * 1024 },
    ]);
  });

  const welcomes: { told: number | undefined; welcome: boolean }[] = [
    { told: HEARTBEAT_S, welcome: false },
    { told: 60, welcome: true },
    { told: undefined, welcome: true },
  ];
  for (const c of welcomes) {
    test(`told ${c.told ?? "nothing"}, interval now ${HEARTBEAT_S}: ${c.welcome ? "welcomed again" : "no welcome"}`, () => {
      const f = cloudFixture();
      if (c.told !== undefined) f.state.told.set("n1", c.told);
      handleHeartbeat(f.ctx, "n1", beat(0, null));
      f.commit();
      expect(f.down().map((d) => d.msg.type)).toEqual(c.welcome ? ["welcome"] : []);
      expect(f.state.told.get("n1")).toBe(c.welcome ? HEARTBEAT_S : c.told);
    });
  }

  const resends: {
    name: string;
    applied: number;
    sent?: { revision: number; atMs: number };
    sentAtColumn?: string;
    connectedAt?: number;
    resend: boolean;
  }[] = [
    { name: "not behind", applied: 3, resend: false },
    { name: "behind, never sent", applied: 2, resend: true },
    {
      name: "behind, sent on this connection a moment ago",
      applied: 2,
      sent: { revision: 3, atMs: T0 - 100 },
      connectedAt: T0 - 1000,
      resend: false,
    },
    {
      name: "behind, sent on this connection a heartbeat ago",
      applied: 2,
      sent: { revision: 3, atMs: T0 - HEARTBEAT_S * 1000 },
      connectedAt: T0 - 9000,
      resend: true,
    },
    {
      name: "behind, sent before this connection began",
      applied: 2,
      sent: { revision: 3, atMs: T0 - 2000 },
      connectedAt: T0 - 1000,
      resend: true,
    },
    {
      name: "behind, an older revision was sent",
      applied: 2,
      sent: { revision: 2, atMs: T0 - 100 },
      resend: true,
    },
    {
      name: "behind, sent (by the database) just now, not in memory",
      applied: 2,
      sentAtColumn: new Date(T0 - 100).toISOString(),
      resend: true,
    },
  ];
  for (const c of resends) {
    test(`plan ${c.name}: ${c.resend ? "sent again" : "not sent"}`, () => {
      const f = cloudFixture();
      f.setPlan("n1", 3, "hash-3", c.sentAtColumn ?? null);
      f.state.told.set("n1", HEARTBEAT_S);
      if (c.sent) f.state.sent.set("n1", { ...c.sent, hash: `hash-${c.sent.revision}` });
      if (c.connectedAt !== undefined) f.state.connectedSince.set("n1", c.connectedAt);
      handleHeartbeat(f.ctx, "n1", beat(c.applied));
      expect(f.plansAsked).toEqual(c.resend ? ["n1"] : []);
    });
  }

  test("another epoch is behind whatever its revision", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    f.state.told.set("n1", HEARTBEAT_S);
    handleHeartbeat(f.ctx, "n1", beat(3, "epoch-0"));
    expect(f.plansAsked).toEqual(["n1"]);
    expect(f.planRow("n1")).toMatchObject({ applied_revision: 0 });
  });

  test("a revision the cloud never sent is counted and not recorded", () => {
    const f = cloudFixture();
    f.setPlan("n1", 3);
    handleHeartbeat(f.ctx, "n1", beat(7));
    expect(f.ctx.dropped.get("unsent-plan")).toBe(1);
    expect(f.planRow("n1")).toMatchObject({ applied_revision: 0 });
  });

  describe("beats (an idle node's compact heartbeat)", () => {
    const compact = (epoch: string | null, revision: number) => {
      const decoded = decodeMessage("n1", encodeBeat(epoch, revision), "up");
      if (!decoded.ok || decoded.msg.type !== "beat") throw new Error("not a beat");
      return decoded.msg;
    };

    test("a few dozen bytes: no id, no timestamp, no node (the topic names it), the epoch's first 8 characters", () => {
      const payload = encodeBeat(EPOCH, 3);
      expect(payload.length).toBeLessThan(50);
      expect(payload.toString()).not.toContain("n1");
      expect(compact(EPOCH, 3)).toEqual({ v: 1, node: "n1", type: "beat", e: EPOCH.slice(0, 8), r: 3 });
    });

    test("counts as a heartbeat of its applied plan: heard from, revision recorded, no resend", () => {
      const f = cloudFixture();
      f.setPlan("n1", 3);
      f.state.told.set("n1", HEARTBEAT_S);
      handleBeat(f.ctx, "n1", compact(EPOCH, 3));
      expect(f.state.pendingSeen.get("n1")).toBe(new Date(T0).toISOString());
      expect(f.planRow("n1")).toMatchObject({ applied_revision: 3 });
      expect(f.plansAsked).toEqual([]);
    });

    test("behind, another epoch's tag, or no plan at all: the plan is sent", () => {
      for (const [epoch, revision] of [
        [EPOCH, 2],
        ["otherepoch-0000", 3],
        [null, 0],
      ] as const) {
        const f = cloudFixture();
        f.setPlan("n1", 3);
        f.state.told.set("n1", HEARTBEAT_S);
        handleBeat(f.ctx, "n1", compact(epoch, revision));
        expect(f.plansAsked).toEqual(["n1"]);
      }
    });
  });
});
