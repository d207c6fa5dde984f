// The fault suites' invariant checker catches what it checks: a lost acknowledged update, a
// duplicate worker, a worker restarted by a reconnect, a request that failed with its path up.
import { expect, test } from "bun:test";
import { check, type Observations, percentile } from "./invariants.ts";

const clean = (): Observations => ({
  acknowledged: [0, 1, 2],
  finalGeneration: { edge1: 2, edge2: 2 },
  processScans: [{ at: 0, node: "edge1", worker: "steady/0", count: 1 }],
  steadyPids: { start: { "edge1/steady/0": 10 }, end: { "edge1/steady/0": 10 } },
  requests: [
    { at: 1000, node: "edge1", ok: true },
    { at: 5000, node: "edge1", ok: false },
  ],
  cutWindows: { edge1: [{ from: 4000, to: 6000 }] },
  convergenceMs: [100, 200, 300],
});

test("a run that kept every promise passes", () => {
  const v = check(clean(), 500);
  expect([v.lostUpdates, v.duplicates, v.restartedByReconnect, v.unroutedFailures]).toEqual([[], [], [], []]);
  expect(v.convergence).toEqual({ p50: 200, p99: 300, max: 300, count: 3 });
});

test("each broken promise is named", () => {
  const o = clean();
  o.finalGeneration.edge2 = 1;
  o.processScans.push({ at: 7000, node: "edge2", worker: "bump/0", count: 2 });
  o.steadyPids.end["edge1/steady/0"] = 11;
  o.requests.push({ at: 9000, node: "edge1", ok: false });
  const v = check(o, 500);
  expect(v.lostUpdates).toEqual(["edge2 runs generation 1, the API acknowledged 2"]);
  expect(v.duplicates[0]).toMatch(/edge2 ran 2 processes for bump\/0/);
  expect(v.restartedByReconnect).toEqual(["edge1/steady/0: pid 10 at the start, 11 at the end"]);
  expect(v.unroutedFailures).toHaveLength(1);
});

test("percentiles", () => {
  expect(percentile([], 99)).toBe(0);
  expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
  expect(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      99,
    ),
  ).toBe(99);
});
