// The cloud's presence handler without a broker: online begins a new connection (what was told
// before is forgotten); an offline presence of the current connection records the node offline;
// one stamped before the current connection began (a replaced connection's will) is ignored.
import { describe, expect, test } from "bun:test";
import { handlePresence } from "../../../../src/cloud/link/handlers/presence.ts";
import { newMessage, type Presence } from "../../../../src/protocol/messages.ts";
import { cloudFixture, T0 } from "./fixture.ts";

const presence = (online: boolean, tsMs: number): Presence => ({
  ...newMessage("n1", { type: "presence", online }),
  ts: new Date(tsMs).toISOString(),
});

describe("presence", () => {
  test("online: a new connection begins now; the node is online and re-swept", () => {
    const f = cloudFixture();
    f.state.told.set("n1", 5);
    handlePresence(f.ctx, "n1", presence(true, T0 - 500));
    expect(f.state.connectedSince.get("n1")).toBe(T0);
    expect(f.state.onlineTs.get("n1")).toBe(T0 - 500);
    expect(f.state.told.has("n1")).toBe(false);
    expect(f.nodeRow("n1")).toMatchObject({ online: 1 });
    expect(f.swept).toEqual(["n1"]);
  });

  const offline: { name: string; willTs: number; onlineTs: number | undefined; applied: boolean }[] = [
    { name: "of the current connection", willTs: T0 - 500, onlineTs: T0 - 500, applied: true },
    { name: "of a later connection", willTs: T0 - 100, onlineTs: T0 - 500, applied: true },
    { name: "with no online heard", willTs: T0 - 500, onlineTs: undefined, applied: true },
    {
      name: "of a replaced connection (stamped before the current one)",
      willTs: T0 - 60_000,
      onlineTs: T0 - 500,
      applied: false,
    },
  ];
  for (const c of offline) {
    test(`offline ${c.name}: ${c.applied ? "recorded" : "ignored"}`, () => {
      const f = cloudFixture();
      if (c.onlineTs !== undefined) handlePresence(f.ctx, "n1", presence(true, c.onlineTs));
      else f.store.db.query("UPDATE nodes SET online = 1").run();
      f.swept.length = 0;
      handlePresence(f.ctx, "n1", presence(false, c.willTs));
      expect(f.nodeRow("n1")).toMatchObject({ online: c.applied ? 0 : 1 });
      expect(f.state.connectedSince.has("n1")).toBe(!c.applied && c.onlineTs !== undefined);
      expect(f.swept).toEqual(c.applied ? ["n1"] : []);
      expect(f.logs.some((l) => l.includes("stale offline presence ignored"))).toBe(!c.applied);
    });
  }
});
