import { describe, expect, test } from "bun:test";
import {
  batchSize,
  type NodeView,
  parseMaxUnavailable,
  planRollout,
  type RolloutView,
} from "../../../src/cloud/upgrade/rollout-planner.ts";

const NOW = 1_000_000;

function rollout(over: Partial<RolloutView> = {}): RolloutView {
  return {
    state: "running",
    version: "1.1.0",
    maxUnavailable: { count: 1 },
    pauseMs: 0,
    timeoutSeconds: 120,
    allowDowngrade: false,
    batchOpen: false,
    batchEndedAt: null,
    ...over,
  };
}

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return {
    node: name,
    state: "pending",
    online: true,
    deleted: false,
    version: "1.0.0",
    isCloud: false,
    orderedAt: null,
    updatedAt: NOW,
    reason: "",
    ...over,
  };
}

describe("max unavailable", () => {
  test("a count or a percentage of the nodes, at least one", () => {
    expect(parseMaxUnavailable("3")).toEqual({ count: 3 });
    expect(parseMaxUnavailable("25%")).toEqual({ percent: 25 });
    expect(typeof parseMaxUnavailable("0")).toBe("string");
    expect(typeof parseMaxUnavailable("101%")).toBe("string");
    expect(typeof parseMaxUnavailable("x")).toBe("string");
    expect(batchSize({ percent: 25 }, 10)).toBe(2);
    expect(batchSize({ percent: 10 }, 3)).toBe(1);
    expect(batchSize({ count: 2 }, 10)).toBe(2);
  });
});

describe("planRollout", () => {
  test("one batch at a time, in order, of max-unavailable nodes", () => {
    const nodes = ["a", "b", "c", "d", "e"].map((n) => node(n));
    const first = planRollout(rollout({ maxUnavailable: { percent: 40 } }), nodes, NOW);
    expect(first.order).toEqual(["a", "b"]);
    expect(first.nodes).toEqual([
      { node: "a", state: "ordered" },
      { node: "b", state: "ordered" },
    ]);
    expect(first.rollout).toEqual({ batchOpen: true });
    // While a node of the batch is in progress, nothing new starts.
    const busy = [
      node("a", { state: "done" }),
      node("b", { state: "waiting-for-health" }),
      ...nodes.slice(2),
    ];
    expect(planRollout(rollout({ batchOpen: true }), busy, NOW).order).toEqual([]);
  });

  test("the batch ends when its nodes are done; --pause waits before the next", () => {
    const nodes = [node("a", { state: "done" }), node("b")];
    const ended = planRollout(rollout({ batchOpen: true, pauseMs: 30_000 }), nodes, NOW);
    expect(ended.order).toEqual([]);
    expect(ended.rollout).toEqual({ batchOpen: false, batchEndedAt: NOW });
    expect(planRollout(rollout({ pauseMs: 30_000, batchEndedAt: NOW }), nodes, NOW + 29_000).order).toEqual(
      [],
    );
    expect(planRollout(rollout({ pauseMs: 30_000, batchEndedAt: NOW }), nodes, NOW + 30_000).order).toEqual([
      "b",
    ]);
  });

  test("the first failed or rolled-back node stops the rollout with its reason", () => {
    const nodes = [node("a", { state: "rolled-back", reason: "exited at start" }), node("b"), node("c")];
    const step = planRollout(rollout({ maxUnavailable: { count: 3 } }), nodes, NOW);
    expect(step.order).toEqual([]);
    expect(step.rollout).toEqual({ state: "failed", reason: "node a rolled-back: exited at start" });
  });

  test("a node offline at its turn is skipped, and ordered in a later batch once back", () => {
    const skipped = planRollout(rollout(), [node("a", { online: false }), node("b")], NOW);
    expect(skipped.nodes).toContainEqual({
      node: "a",
      state: "offline",
      reason: "offline when its turn came; upgraded when it is back",
    });
    expect(skipped.order).toEqual(["b"]);
    const waiting = [node("a", { state: "offline", online: false }), node("b", { state: "done" })];
    const still = planRollout(rollout(), waiting, NOW);
    expect(still.order).toEqual([]);
    expect(still.rollout?.state).toBeUndefined();
    const back = planRollout(rollout(), [node("a", { state: "offline" }), node("b", { state: "done" })], NOW);
    expect(back.order).toEqual(["a"]);
  });

  test("a deleted node leaves the rollout (skipped), whatever it was doing; the others go on to done", () => {
    const gone = { online: false, deleted: true };
    const nodes = [
      node("a", { ...gone, state: "offline" }),
      node("b", { ...gone, state: "downloading", updatedAt: NOW - 1000 }),
      node("c"),
    ];
    const step = planRollout(rollout({ batchOpen: true }), nodes, NOW);
    expect(step.nodes).toEqual([
      { node: "a", state: "skipped", reason: "node deleted" },
      { node: "b", state: "skipped", reason: "node deleted" },
      { node: "c", state: "ordered" },
    ]);
    expect(step.order).toEqual(["c"]);
    expect(step.rollout?.state).toBeUndefined();
    const skipped = { ...gone, state: "skipped" as const, reason: "node deleted" };
    const rest = [node("a", skipped), node("b", skipped), node("c", { state: "done" })];
    const end = planRollout(rollout(), rest, NOW);
    expect(end.nodes).toEqual([]);
    expect(end.rollout).toEqual({
      state: "done",
      reason: "every remaining node runs 1.1.0 (2 deleted during the rollout)",
    });
    // The cloud's node waits for the others only while they may still be upgraded.
    const withCloud = [node("a", skipped), node("cloud", { isCloud: true })];
    expect(planRollout(rollout(), withCloud, NOW).order).toEqual(["cloud"]);
  });

  test("every node done: the rollout is done; a node already at the version is done without an order", () => {
    const step = planRollout(rollout(), [node("a", { version: "1.1.0" }), node("b", { state: "done" })], NOW);
    expect(step.nodes).toEqual([{ node: "a", state: "done", reason: "already at 1.1.0" }]);
    expect(step.order).toEqual([]);
    expect(step.rollout?.state).toBe("done");
  });

  test("a downgrade is refused unless allowed", () => {
    const nodes = [node("a", { version: "2.0.0" })];
    const refused = planRollout(rollout(), nodes, NOW);
    expect(refused.rollout?.state).toBe("failed");
    expect(refused.rollout?.reason).toContain("downgrade refused");
    expect(planRollout(rollout({ allowDowngrade: true }), nodes, NOW).order).toEqual(["a"]);
  });

  test("the cloud's node goes last, once every other node is done", () => {
    const nodes = [node("cloud", { isCloud: true }), node("a")];
    expect(planRollout(rollout({ maxUnavailable: { count: 5 } }), nodes, NOW).order).toEqual(["a"]);
    const rest = [node("cloud", { isCloud: true }), node("a", { state: "done" })];
    expect(planRollout(rollout(), rest, NOW).order).toEqual(["cloud"]);
  });

  test("paused: no new batch, but an unanswered order goes again; aborted: nothing", () => {
    const nodes = [node("a", { state: "ordered", orderedAt: NOW - 11_000 }), node("b")];
    const paused = planRollout(rollout({ state: "paused", batchOpen: true }), nodes, NOW);
    expect(paused.order).toEqual(["a"]);
    const idle = [node("a", { state: "done" }), node("b")];
    expect(planRollout(rollout({ state: "paused" }), idle, NOW).order).toEqual([]);
    expect(planRollout(rollout({ state: "aborted" }), idle, NOW)).toEqual({ nodes: [], order: [] });
  });

  test("a node in progress that reports nothing for long fails", () => {
    const stalled = [node("a", { state: "downloading", updatedAt: NOW - 120_000 - 16 * 60_000 })];
    const step = planRollout(rollout(), stalled, NOW);
    expect(step.rollout?.state).toBe("failed");
    expect(step.rollout?.reason).toContain("no progress reported");
  });
});
