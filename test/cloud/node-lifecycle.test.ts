// Node lifecycle decisions, in one process: a node's lostAfter is the smallest of its plan's
// services (read from the plans table, cached per plan hash), only changes to or from Lost
// re-plan, and a Disconnected node's Lost timer wakes the sweep when lostAfter is over.
import { afterAll, describe, expect, test } from "bun:test";
import { createLostTimers } from "../../src/cloud/link/lost-timers.ts";
import { createLostAfterLookup, lostAfterOfPlan } from "../../src/cloud/lost-after.ts";
import { phaseChangeAffectsPlacement } from "../../src/cloud/planner.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
afterAll(() => store.close());

function setPlan(node: string, hash: string, services: { name: string; lostAfter?: string }[]): void {
  store.db
    .query(
      `INSERT INTO plans (node, revision, hash, plan) VALUES (?1, 1, ?2, ?3)
       ON CONFLICT (node) DO UPDATE SET revision = revision + 1, hash = ?2, plan = ?3`,
    )
    .run(node, hash, JSON.stringify({ node, services, configs: {} }));
}

describe("lostAfter of a node", () => {
  test("the smallest of its services; never when none sets one", () => {
    expect(lostAfterOfPlan({ services: [] })).toBeNull();
    expect(lostAfterOfPlan({ services: [{ lostAfter: "never" }, {}] })).toBeNull();
    expect(
      lostAfterOfPlan({ services: [{ lostAfter: "5m" }, { lostAfter: "never" }, { lostAfter: "1m30s" }] }),
    ).toBe(90_000);
    // a value that is not a duration (validated at apply, so only from a damaged row) counts as never
    expect(lostAfterOfPlan({ services: [{ lostAfter: "soon" }, { lostAfter: "2s" }] })).toBe(2000);
  });

  test("read from the node's plan, again when the plan changed", () => {
    const lookup = createLostAfterLookup(store);
    expect(lookup("edge1")).toBeNull(); // no plan yet
    setPlan("edge1", "h1", [
      { name: "a", lostAfter: "10s" },
      { name: "b", lostAfter: "never" },
    ]);
    expect(lookup("edge1")).toBe(10_000);
    setPlan("edge1", "h2", [
      { name: "a", lostAfter: "10s" },
      { name: "c", lostAfter: "2s" },
    ]);
    expect(lookup("edge1")).toBe(2000);
    setPlan("edge1", "h3", []);
    expect(lookup("edge1")).toBeNull();
  });
});

describe("phase changes and placement", () => {
  test("only Lost moves workers, so only a change to or from Lost re-plans", () => {
    expect(phaseChangeAffectsPlacement({ from: "Ready", to: "Disconnected" })).toBe(false);
    expect(phaseChangeAffectsPlacement({ from: "Disconnected", to: "Ready" })).toBe(false);
    expect(phaseChangeAffectsPlacement({ from: "Disconnected", to: "Lost" })).toBe(true);
    expect(phaseChangeAffectsPlacement({ from: "Lost", to: "Ready" })).toBe(true);
  });
});

describe("Lost timers", () => {
  test("a Disconnected node is looked at again when its lostAfter is over, not before", async () => {
    const woken: [string, number][] = [];
    const started = Date.now();
    const timers = createLostTimers({
      lostAfterMs: (node) => (node === "never" ? null : 150),
      now: Date.now,
      wake: (node) => woken.push([node, Date.now() - started]),
    });
    const since = new Date(started).toISOString();
    timers.onPhaseChange({ node: "edge1", from: "Ready", to: "Disconnected", since });
    timers.onPhaseChange({ node: "never", from: "Ready", to: "Disconnected", since });
    timers.onPhaseChange({ node: "back", from: "Ready", to: "Disconnected", since });
    timers.onPhaseChange({ node: "back", from: "Disconnected", to: "Ready", since });
    await Bun.sleep(50);
    expect(woken).toEqual([]);
    await Bun.sleep(200);
    expect(woken.map(([n]) => n)).toEqual(["edge1"]);
    expect(woken[0]?.[1]).toBeGreaterThanOrEqual(150);
    timers.close();
  });
});
