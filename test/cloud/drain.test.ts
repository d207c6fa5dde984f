// The drain hand-over and the selector budget, as pure decisions.
import { describe, expect, test } from "bun:test";
import { handOver, schedulingEvent, selectorBudget } from "../../src/cloud/drain.ts";

describe("drain hand-over", () => {
  test("moved once every other matching Ready node runs its selector workers ready", () => {
    expect(
      handOver([
        { node: "edge2", phase: "Ready", expected: 1, ready: 1 },
        { node: "edge3", phase: "Ready", expected: 2, ready: 2 },
      ]),
    ).toEqual({ state: "moved", to: ["edge2", "edge3"] });
  });

  test("waiting while a target's workers are not all ready", () => {
    expect(
      handOver([
        { node: "edge2", phase: "Ready", expected: 2, ready: 1 },
        { node: "edge3", phase: "Ready", expected: 1, ready: 1 },
      ]),
    ).toEqual({ state: "waiting", to: ["edge2", "edge3"], waitingFor: ["edge2"] });
    expect(handOver([{ node: "edge2", phase: "Ready", expected: 1, ready: 0 }]).state).toBe("waiting");
  });

  test("held when no other Ready node matches (never left without a worker)", () => {
    expect(handOver([]).state).toBe("held");
    expect(handOver([{ node: "edge2", phase: "Disconnected", expected: 1, ready: 1 }]).state).toBe("held");
    expect(handOver([{ node: "edge2", phase: "Ready", expected: 0, ready: 0 }]).state).toBe("held");
  });

  test("Disconnected targets are not waited for when a Ready one took over", () => {
    expect(
      handOver([
        { node: "edge2", phase: "Ready", expected: 1, ready: 1 },
        { node: "edge3", phase: "Disconnected", expected: 1, ready: 0 },
      ]),
    ).toEqual({ state: "moved", to: ["edge2"] });
  });
});

describe("selector budget", () => {
  test("enabled: no limit; cordoned: what the plan runs, less the pinned ones", () => {
    expect(selectorBudget("enabled", 0, 0, false)).toBe(Number.POSITIVE_INFINITY);
    expect(selectorBudget("cordoned", 3, 1, false)).toBe(2);
    expect(selectorBudget("cordoned", 1, 2, false)).toBe(0);
  });

  test("draining: kept until handed over, then none", () => {
    expect(selectorBudget("draining", 2, 0, false)).toBe(2);
    expect(selectorBudget("draining", 2, 0, true)).toBe(0);
  });
});

describe("scheduling events", () => {
  test("each change says what it does; a drain lists its services", () => {
    expect(schedulingEvent("cordoned", []).reason).toBe("Cordoned");
    expect(schedulingEvent("enabled", []).reason).toBe("Uncordoned");
    expect(
      schedulingEvent("draining", [
        { service: "web", workers: 1, state: "moved", to: ["edge2"] },
        { service: "pin", workers: 1, state: "pinned" },
      ]),
    ).toEqual({ reason: "Drained", message: "web: 1 moved to edge2; pin: 1 pinned" });
  });
});
