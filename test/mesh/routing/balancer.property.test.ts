import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { LocalEndpoint } from "../../../src/mesh/contracts.ts";
import {
  Balancer,
  type Pick,
  pickTwo,
  STRATEGIES,
  type Strategy,
  type UpstreamOutcome,
} from "../../../src/mesh/routing/balancer.ts";
import { Clock, endpoint, endpoints, Replay } from "./helpers.ts";

const UNIVERSE = 6;

type Op =
  | { t: "pick" }
  | { t: "done"; which: number; outcome: UpstreamOutcome }
  | { t: "advance"; ms: number }
  | { t: "ready"; index: number; ready: boolean }
  | { t: "toggle"; index: number };

const outcomeArb: fc.Arbitrary<UpstreamOutcome> = fc.oneof(
  fc.record({
    ok: fc.constant(true),
    status: fc.constantFrom(200, 204, 404, 500, 503),
    latencyMs: fc.double({ min: 0, max: 3_000, noNaN: true }),
  }),
  fc.record({
    ok: fc.constant(false),
    latencyMs: fc.double({ min: 0, max: 30_000, noNaN: true }),
    error: fc.constantFrom("refused" as const, "reset" as const, "timeout" as const),
  }),
  fc.record({ ok: fc.constant(false), latencyMs: fc.double({ min: 0, max: 100, noNaN: true }) }),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ t: "pick" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant("done" as const), which: fc.nat(), outcome: outcomeArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("ready" as const),
      index: fc.integer({ min: 0, max: UNIVERSE - 1 }),
      ready: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("toggle" as const),
      index: fc.integer({ min: 0, max: UNIVERSE - 1 }),
    }),
  },
);

const randomsArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
  minLength: 1,
  maxLength: 32,
});

interface Run {
  picks: (number | undefined)[];
  balancer: Balancer;
}

/**
 * Drives a balancer through ops, checking after every pick that it chose only what it may choose.
 * Endpoints 0..UNIVERSE-1 start present and ready; "toggle" removes / re-adds one.
 */
function drive(strategy: Strategy, ops: Op[], randoms: number[]): Run {
  const clock = new Clock();
  const replay = new Replay(randoms);
  const balancer = new Balancer({ strategy, now: clock.now, random: replay.random });
  const present = new Map<number, LocalEndpoint>(endpoints(UNIVERSE).map((e) => [e.index, e]));
  const outstanding: Pick[] = [];
  const picks: (number | undefined)[] = [];
  for (const op of ops) {
    switch (op.t) {
      case "advance":
        clock.advance(op.ms);
        break;
      case "ready": {
        const e = present.get(op.index);
        if (e) present.set(op.index, { ...e, ready: op.ready });
        break;
      }
      case "toggle":
        if (present.has(op.index)) present.delete(op.index);
        else present.set(op.index, endpoint(op.index));
        break;
      case "done": {
        if (outstanding.length === 0) break;
        const [p] = outstanding.splice(op.which % outstanding.length, 1);
        p?.done(op.outcome);
        break;
      }
      case "pick": {
        const list = [...present.values()];
        const before = new Map(balancer.stats().map((s) => [s.index, s]));
        const ready = list.filter((e) => e.ready).sort((a, b) => a.index - b.index);
        const ejected = (e: LocalEndpoint) => (before.get(e.index)?.ejectedForMs ?? 0) > 0;
        const healthy = ready.filter((e) => !ejected(e));
        const costs = new Map(ready.map((e) => [e.index, balancer.cost(e)]));
        const drawnBefore = replay.drawn.length;
        const p = balancer.pick(list);
        picks.push(p?.endpoint.index);
        if (ready.length === 0) {
          expect(p).toBeUndefined();
          break;
        }
        if (!p) throw new Error("no pick although an endpoint is ready");
        outstanding.push(p);
        const chosen = p.endpoint;
        // Never a not-ready or absent endpoint; never an ejected one outside panic; panic only when
        // every ready endpoint is ejected.
        expect(ready.some((e) => e.index === chosen.index && e.port === chosen.port)).toBe(true);
        expect(p.panic).toBe(healthy.length === 0);
        if (!p.panic) expect(ejected(chosen)).toBe(false);
        if (p.panic) continue;
        if (strategy === "least-request") {
          const inFlight = (e: LocalEndpoint) => before.get(e.index)?.inFlight ?? 0;
          expect(inFlight(chosen)).toBe(Math.min(...healthy.map(inFlight)));
        }
        if (strategy === "p2c-ewma" && healthy.length >= 2) {
          const drawn = replay.drawn.slice(drawnBefore);
          expect(drawn.length).toBe(2);
          const again = new Replay(drawn);
          const [i, j] = pickTwo(healthy.length, again.random);
          const pair = [healthy[i], healthy[j]] as LocalEndpoint[];
          expect(pair.map((e) => e.index)).toContain(chosen.index);
          const other = pair.find((e) => e.index !== chosen.index) as LocalEndpoint;
          const mine = costs.get(chosen.index) ?? Number.POSITIVE_INFINITY;
          const theirs = costs.get(other.index) ?? Number.POSITIVE_INFINITY;
          // An endpoint new to the balancer has no cost yet to compare with.
          if (Number.isFinite(mine) && Number.isFinite(theirs)) expect(mine).toBeLessThanOrEqual(theirs);
        }
        break;
      }
    }
  }
  for (const p of outstanding) p.done({ ok: true, status: 200, latencyMs: 1 });
  return { picks, balancer };
}

describe("balancer properties", () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: only ready, non-ejected (outside panic) endpoints; in flight back to 0; deterministic`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 300, size: "max" }), randomsArb, (ops, randoms) => {
          const first = drive(strategy, ops, randoms);
          expect(first.balancer.totalInFlight()).toBe(0);
          for (const s of first.balancer.stats()) expect(s.inFlight).toBe(0);
          // Same inputs, same decisions.
          expect(drive(strategy, ops, randoms).picks).toEqual(first.picks);
        }),
        { numRuns: 300 },
      );
    });
  }

  test("round-robin over n ready endpoints gives each exactly k of k·n picks", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 5_000 })), { maxLength: 400, size: "max" }),
        (n, k, schedule) => {
          const clock = new Clock();
          const b = new Balancer({ strategy: "round-robin", now: clock.now });
          const list = endpoints(n);
          const counts = new Array<number>(n).fill(0);
          const outstanding: Pick[] = [];
          for (let i = 0; i < k * n; i++) {
            const p = b.pick(list);
            if (!p) throw new Error("no pick");
            counts[p.endpoint.index] = (counts[p.endpoint.index] ?? 0) + 1;
            outstanding.push(p);
            // Complete some requests in an arbitrary order, at arbitrary times.
            const [which, ms] = schedule[i % Math.max(1, schedule.length)] ?? [0, 0];
            clock.advance(ms);
            if (which % 3 !== 0 && outstanding.length > 0) {
              outstanding.splice(which % outstanding.length, 1)[0]?.done({ ok: true, latencyMs: ms });
            }
          }
          expect(counts).toEqual(new Array<number>(n).fill(k));
        },
      ),
      { numRuns: 300 },
    );
  });

  for (const strategy of STRATEGIES) {
    test(`${strategy}: 3,000 requests over 2 workers with equal latency split within ±10 %`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 50 }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
          fc.double({ min: 0.05, max: 200, noNaN: true }),
          fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 20 }),
          randomsArb,
          (batches, orders, latencyMs, gaps, randoms) => {
            const clock = new Clock();
            const b = new Balancer({ strategy, now: clock.now, random: new Replay(randoms).random });
            const list = endpoints(2);
            const counts = [0, 0];
            let total = 0;
            for (let round = 0; total < 3_000; round++) {
              // A burst of concurrent requests, then they finish in some order.
              const size = Math.min(batches[round % batches.length] ?? 1, 3_000 - total);
              const burst: Pick[] = [];
              for (let i = 0; i < size; i++) {
                const p = b.pick(list);
                if (!p) throw new Error("no pick");
                counts[p.endpoint.index] = (counts[p.endpoint.index] ?? 0) + 1;
                burst.push(p);
              }
              total += size;
              clock.advance(gaps[round % gaps.length] ?? 0);
              while (burst.length > 0) {
                const at = (orders[(round + burst.length) % orders.length] ?? 0) % burst.length;
                burst.splice(at, 1)[0]?.done({ ok: true, status: 200, latencyMs });
              }
            }
            for (const count of counts) {
              expect(count).toBeGreaterThanOrEqual(1_350);
              expect(count).toBeLessThanOrEqual(1_650);
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});
