// The cloud link's write-back without a broker: heard-from times and plan send times kept in
// memory go to the nodes and plans tables; after the commit an entry is forgotten unless it
// changed meanwhile (a heartbeat that came in between is written next time).
import { describe, expect, test } from "bun:test";
import { writeBack } from "../../../src/cloud/link/write-back.ts";
import { cloudFixture, T0 } from "./handlers/fixture.ts";

describe("write-back", () => {
  test("last_seen and sent_at written; entries changed before the commit are kept", () => {
    const f = cloudFixture(["a", "b"]);
    f.setPlan("a", 3);
    f.setPlan("b", 1);
    const seenA = new Date(T0).toISOString();
    f.state.pendingSeen.set("a", seenA);
    f.state.pendingSeen.set("b", seenA);
    f.state.markSent("a", { revision: 3, hash: "hash-3", atMs: T0 - 100 });
    // A plan remembered for a revision the row has moved on from is not written.
    f.state.markSent("b", { revision: 0, hash: "old", atMs: T0 - 100 });
    writeBack(f.state, f.ctx.records, f.ctx.later);
    expect(f.nodeRow("a")).toMatchObject({ last_seen: seenA });
    expect(f.planRow("a")).toMatchObject({ sent_at: new Date(T0 - 100).toISOString() });
    expect(f.planRow("b")).toMatchObject({ sent_at: null });
    // b is heard from again before the commit.
    const seenB = new Date(T0 + 10).toISOString();
    f.state.pendingSeen.set("b", seenB);
    f.commit();
    expect([...f.state.pendingSeen]).toEqual([["b", seenB]]);
    expect(f.state.sentDirty.size).toBe(0);
    expect(f.state.sent.size).toBe(2);
  });

  test("an older heard-from time never overwrites a newer last_seen", () => {
    const f = cloudFixture(["a"]);
    const newer = new Date(T0).toISOString();
    f.store.db.query("UPDATE nodes SET last_seen = ?").run(newer);
    f.state.pendingSeen.set("a", new Date(T0 - 5000).toISOString());
    writeBack(f.state, f.ctx.records, f.ctx.later);
    expect(f.nodeRow("a")).toMatchObject({ last_seen: newer });
  });
});
