import { describe, expect, test } from "bun:test";
import {
  Balancer,
  DEFAULT_EJECTION,
  ejectionMs,
  type Pick,
  pickTwo,
  STRATEGIES,
  type Strategy,
} from "../../../src/mesh/routing/balancer.ts";
import { cost, estimateAt, initialEwma, observe, observePenalty } from "../../../src/mesh/routing/ewma.ts";
import { Clock, endpoint, endpoints, Replay } from "./helpers.ts";

const ok = (latencyMs = 5) => ({ ok: true, status: 200, latencyMs });
const refused = { ok: false, latencyMs: 1, error: "refused" as const };

function indexes(picks: (Pick | undefined)[]): (number | undefined)[] {
  return picks.map((p) => p?.endpoint.index);
}

describe("round-robin", () => {
  test("cycles in index order and survives a list that changes", () => {
    const b = new Balancer({ strategy: "round-robin", now: new Clock().now });
    const list = endpoints(3);
    const seq = Array.from({ length: 6 }, () => b.pick(list));
    expect(indexes(seq)).toEqual([0, 1, 2, 0, 1, 2]);
    for (const p of seq) p?.done(ok());
    // Last pick was 2; endpoint 1 leaves, 3 arrives: the next after 2 is 3, then 0.
    const changed = [endpoint(3), endpoint(0), endpoint(2)];
    expect(indexes([b.pick(changed), b.pick(changed), b.pick(changed)])).toEqual([3, 0, 2]);
  });

  test("skips not-ready endpoints; none ready → undefined", () => {
    const b = new Balancer({ strategy: "round-robin", now: new Clock().now });
    const list = [endpoint(0), endpoint(1, false), endpoint(2)];
    expect(indexes([b.pick(list), b.pick(list), b.pick(list)])).toEqual([0, 2, 0]);
    expect(b.pick([endpoint(0, false), endpoint(1, false)])).toBeUndefined();
    expect(b.pick([])).toBeUndefined();
  });

  test("a duplicated entry does not get a double share", () => {
    const b = new Balancer({ strategy: "round-robin", now: new Clock().now });
    const list = [endpoint(0), endpoint(0), endpoint(1)];
    expect(indexes([b.pick(list), b.pick(list), b.pick(list), b.pick(list)])).toEqual([0, 1, 0, 1]);
  });
});

describe("least-request", () => {
  test("prefers the fewest in flight; ties rotate instead of always taking the first", () => {
    const b = new Balancer({ strategy: "least-request", now: new Clock().now });
    const list = endpoints(3);
    const a = b.pick(list);
    const c = b.pick(list);
    expect(indexes([a, c])).toEqual([0, 1]);
    a?.done(ok());
    // 0 and 2 have none in flight: after 1 comes 2.
    const d = b.pick(list);
    expect(d?.endpoint.index).toBe(2);
    // Now 0 has the fewest.
    expect(b.pick(list)?.endpoint.index).toBe(0);
    // Sequential requests (each done before the next) rotate over all of them.
    const sequential: number[] = [];
    const fresh = new Balancer({ strategy: "least-request", now: new Clock().now });
    for (let i = 0; i < 6; i++) {
      const p = fresh.pick(list);
      sequential.push(p?.endpoint.index ?? -1);
      p?.done(ok());
    }
    expect(sequential).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe("p2c-ewma", () => {
  test("pickTwo gives two distinct positions, covering the edges", () => {
    expect(pickTwo(2, new Replay([0, 0]).random)).toEqual([0, 1]);
    expect(pickTwo(2, new Replay([0.99, 0]).random)).toEqual([1, 0]);
    expect(pickTwo(5, new Replay([0.5, 0.5]).random)).toEqual([2, 3]);
    expect(pickTwo(3, new Replay([1, 1]).random)).toEqual([2, 1]); // a random() of 1 is clamped
  });

  test("the faster endpoint wins; a slow one is retried after its estimate decays", () => {
    const clock = new Clock();
    const b = new Balancer({ strategy: "p2c-ewma", now: clock.now, random: new Replay([0, 0]).random });
    const list = endpoints(2);
    const first = b.pick(list);
    const second = b.pick(list);
    expect(indexes([first, second])).toEqual([0, 1]);
    first?.done(ok(2_000)); // worker 0 had a 2 s hiccup
    second?.done(ok(2));
    for (let i = 0; i < 20; i++) {
      const p = b.pick(list);
      expect(p?.endpoint.index).toBe(1);
      p?.done(ok(2));
    }
    // Worker 1 keeps serving in 2 ms; worker 0's estimate decays (τ = 10 s) until it is cheaper again:
    // 2000 · e^(−t/10 s) < 2 · e^(−1 s/10 s) (1's estimate, itself 1 s old at each pick) after 70.1 s.
    let retriedAt = 0;
    for (let s = 1; s <= 120 && retriedAt === 0; s++) {
      clock.advance(1_000);
      const p = b.pick(list);
      if (p?.endpoint.index === 0) retriedAt = s;
      p?.done(ok(2));
    }
    expect(retriedAt).toBe(71);
  });

  test("in-flight requests raise the cost of an endpoint", () => {
    const b = new Balancer({ strategy: "p2c-ewma", now: new Clock().now, random: new Replay([0, 0]).random });
    const list = endpoints(2);
    const warm = [b.pick(list), b.pick(list)];
    warm[0]?.done(ok(10));
    warm[1]?.done(ok(10));
    const held = b.pick(list);
    expect(b.cost(held?.endpoint ?? endpoint(9))).toBe(20);
    expect(b.pick(list)?.endpoint.index).not.toBe(held?.endpoint.index);
  });

  test("a new endpoint starts at the mean estimate of the others", () => {
    const b = new Balancer({ strategy: "p2c-ewma", now: new Clock().now, random: new Replay([0, 0]).random });
    const two = endpoints(2);
    b.pick(two)?.done(ok(10));
    b.pick(two)?.done(ok(30));
    b.pick([...two, endpoint(2)]);
    expect(b.stats().find((s) => s.index === 2)?.ewmaMs).toBe(20);
  });
});

describe("peak EWMA", () => {
  test("a slower sample counts at once, a faster one gradually, idle decays towards 0", () => {
    const start = initialEwma(10, 0);
    expect(observe(start, 50, 0).estimateMs).toBe(50);
    const faster = observe(observe(start, 50, 0), 10, 10_000);
    expect(faster.estimateMs).toBeCloseTo(50 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 9);
    expect(estimateAt(faster, 20_000)).toBeCloseTo(faster.estimateMs * Math.exp(-1), 9);
    expect(observe(start, Number.NaN, 5)).toBe(start);
    expect(observePenalty(start, 5, 0)).toBe(start);
    expect(observePenalty(start, 500, 0).estimateMs).toBe(500);
    expect(cost(0, 3)).toBeGreaterThan(0);
    expect(cost(10, 3)).toBe(40);
  });
});

describe("ejection", () => {
  test("backoff doubles per consecutive failure up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => ejectionMs(DEFAULT_EJECTION, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  for (const strategy of STRATEGIES) {
    test(`${strategy}: a refusing endpoint is ejected, returns after the backoff, success clears it`, () => {
      const clock = new Clock();
      const b = new Balancer({ strategy, now: clock.now, random: new Replay([0, 0.99]).random });
      const list = endpoints(2);
      let p = b.pick(list);
      while (p?.endpoint.index !== 0) {
        p?.done(ok());
        p = b.pick(list);
      }
      p.done(refused);
      for (let i = 0; i < 10; i++) {
        const q = b.pick(list);
        expect(q?.endpoint.index).toBe(1);
        q?.done(ok());
      }
      clock.advance(999);
      expect(b.stats()[0]?.ejectedForMs).toBe(1);
      clock.advance(1);
      const seen = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const q = b.pick(list);
        seen.add(q?.endpoint.index ?? -1);
        q?.done(q.endpoint.index === 0 ? refused : ok());
      }
      // It came back, failed again: now ejected for 2 s.
      expect(seen.has(0)).toBe(true);
      expect(b.stats()[0]).toMatchObject({ failures: 2, ejectedForMs: 2_000 });
      clock.advance(2_000);
      for (let i = 0; i < 4; i++) b.pick(list)?.done(ok());
      expect(b.stats()[0]).toMatchObject({ failures: 0, ejectedForMs: 0 });
    });
  }

  test("failures of connections already under way count once", () => {
    const clock = new Clock();
    const b = new Balancer({ strategy: "round-robin", now: clock.now });
    const only = [endpoint(0)];
    const burst = Array.from({ length: 5 }, () => b.pick(only));
    for (const p of burst) p?.done(refused);
    expect(b.stats()[0]).toMatchObject({ failures: 1, ejectedForMs: 1_000 });
    // A success of a request that was under way before the failure does not clear it either.
    const early = b.pick(only);
    early?.done(refused);
    expect(b.stats()[0]?.failures).toBe(2);
  });

  test("panic: all ready endpoints ejected → the one whose ejection ends first, flagged", () => {
    const clock = new Clock();
    const b = new Balancer({ strategy: "least-request", now: clock.now });
    const list = endpoints(2);
    b.pick(list)?.done(refused); // 0: ejected until t+1000
    clock.advance(100);
    b.pick(list)?.done(refused); // 1: ejected until t+1100
    const p = b.pick(list);
    expect(p).toMatchObject({ panic: true, endpoint: { index: 0 } });
    p?.done(ok());
    // The success ends 0's ejection: no more panic.
    const q = b.pick(list);
    expect(q).toMatchObject({ panic: false, endpoint: { index: 0 } });
    // A not-ready endpoint is not a panic candidate.
    expect(b.pick([endpoint(0, false), endpoint(1)])).toMatchObject({ panic: true, endpoint: { index: 1 } });
  });

  test("timeouts and 5xx do not eject; they only raise the latency estimate", () => {
    const b = new Balancer({ strategy: "p2c-ewma", now: new Clock().now, random: new Replay([0, 0]).random });
    const list = endpoints(2);
    b.pick(list)?.done({ ok: false, latencyMs: 5_000, error: "timeout" });
    b.pick(list)?.done({ ok: true, status: 503, latencyMs: 0.1 });
    const stats = b.stats();
    expect(stats.map((s) => [s.failures, s.ejectedForMs])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(stats[0]?.ewmaMs).toBe(5_000);
    expect(stats[1]?.ewmaMs).toBe(1); // a fast 503 does not make it look faster than the initial 1 ms
  });
});

describe("bookkeeping", () => {
  test("done() counts once; in flight returns to 0 even after the endpoint left the list", () => {
    const b = new Balancer({ strategy: "least-request", now: new Clock().now });
    const p = b.pick(endpoints(2));
    const q = b.pick(endpoints(2));
    expect(b.totalInFlight()).toBe(2);
    // Worker 0 goes away while its request is under way; state for it is kept until done.
    expect(b.pick([endpoint(1)])?.endpoint.index).toBe(1);
    expect(b.stats().map((s) => s.index)).toEqual([0, 1]);
    p?.done(ok());
    p?.done(ok());
    q?.done(ok());
    expect(b.totalInFlight()).toBe(1);
    b.pick([endpoint(1)]);
    expect(b.stats().map((s) => s.index)).toEqual([1]);
  });

  test("observer sees picks, outcomes and ejections", () => {
    const events: string[] = [];
    const b = new Balancer({
      strategy: "round-robin" as Strategy,
      now: new Clock().now,
      observer: {
        picked: (e, n, panic) => events.push(`pick ${e.index} ${n} ${panic}`),
        finished: (e, o, n) => events.push(`done ${e.index} ${o.error ?? o.status} ${n}`),
        ejected: (e, ms, f) => events.push(`eject ${e.index} ${ms} ${f}`),
      },
    });
    b.pick([endpoint(0)])?.done(refused);
    b.pick([endpoint(0)])?.done(ok());
    expect(events).toEqual([
      "pick 0 1 false",
      "eject 0 1000 1",
      "done 0 refused 0",
      "pick 0 1 true",
      "done 0 200 0",
    ]);
  });
});
