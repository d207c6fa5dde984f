// The balancer of one service on one node (pure: no sockets, no timers; deterministic given the
// injected now() and random()). It picks which of the service's workers ON THIS NODE serves the next
// request (protocol http) or connection (protocol tcp):
//   round-robin    the next ready endpoint after the last one picked, in (index, port) order, so a
//                  changing list neither skips nor repeats anyone;
//   least-request  the fewest requests in flight; ties go round-robin (never "always the first");
//   p2c-ewma       two distinct endpoints drawn at random, the cheaper by peak-EWMA cost wins
//                  (ewma.ts: latency estimate × (in flight + 1)); ties go round-robin.
// Endpoints that are not ready are never picked. An endpoint whose connection was refused or reset
// (outcome error "refused" | "reset") is EJECTED for ejectionMs(failures): 1 s, 2 s, 4 s … capped at
// 30 s per consecutive failure; it returns when that ends, and a success clears its count. Failures of
// picks made before the current ejection began (a burst of connections that were already under way)
// count once, not once each.
//
// Panic mode: when EVERY ready endpoint is ejected the balancer still picks one (the one whose
// ejection ends first, ties round-robin), flagged `panic`. Readiness comes from the supervisor's probes
// and is the authority on "alive"; ejection is only a guess from the last few connections. Refusing
// here would fail every request for up to 30 s after one blip (e.g. all workers restarted at once),
// while trying costs at worst the same error the client would get, and a success ends the ejection
// at once. Only "no READY endpoint" makes pick() return undefined (then the route refuses or falls back).
//
// The list may change between calls (workers come and go, readiness flips): state is keyed by
// (index, port); a state whose endpoint left the list is dropped once nothing is in flight on it, and a
// Pick keeps its own state, so done() always settles the count it raised. done() acts once.

import type { LocalEndpoint } from "../contracts.ts";
import {
  cost,
  DEFAULT_DECAY_MS,
  DEFAULT_INITIAL_RTT_MS,
  type Ewma,
  estimateAt,
  initialEwma,
  observe,
  observePenalty,
} from "./ewma.ts";

export type Strategy = "round-robin" | "least-request" | "p2c-ewma";
export const STRATEGIES: readonly Strategy[] = ["round-robin", "least-request", "p2c-ewma"];

/** How one request or connection went, as the proxy reports it. */
export interface UpstreamOutcome {
  /** The exchange completed (an HTTP response of any status was relayed, or the TCP splice ended well). */
  ok: boolean;
  /** The HTTP status the worker answered, when it did. */
  status?: number;
  /** From dial to the end of the response headers (http) or to the close (tcp), ms. */
  latencyMs: number;
  /** refused: connect failed; reset: the connection broke before the worker sent a byte; timeout. */
  error?: "refused" | "reset" | "timeout";
}

export interface Pick {
  readonly endpoint: LocalEndpoint;
  /** Every ready endpoint was ejected and this one was picked anyway (see panic mode above). */
  readonly panic: boolean;
  /** Report how it went. Call exactly once; later calls are ignored. */
  done(outcome: UpstreamOutcome): void;
}

export interface EjectionPolicy {
  /** Ejection after the first consecutive failure, ms. */
  baseMs: number;
  /** Longest ejection, ms. */
  maxMs: number;
}
export const DEFAULT_EJECTION: EjectionPolicy = { baseMs: 1_000, maxMs: 30_000 };

/** How long an endpoint is ejected after `failures` consecutive connect failures (≥ 1). */
export function ejectionMs(policy: EjectionPolicy, failures: number): number {
  const doublings = Math.min(Math.max(0, failures - 1), 52);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** doublings);
}

/** A connect failure: the worker is not taking connections (a timeout or an HTTP 5xx is not). */
export function isConnectFailure(outcome: UpstreamOutcome): boolean {
  return outcome.error === "refused" || outcome.error === "reset";
}

/** Hooks for metrics and logs; all optional, called synchronously. */
export interface BalancerObserver {
  picked?(endpoint: LocalEndpoint, inFlight: number, panic: boolean): void;
  finished?(endpoint: LocalEndpoint, outcome: UpstreamOutcome, inFlight: number): void;
  ejected?(endpoint: LocalEndpoint, forMs: number, failures: number): void;
}

export interface BalancerOptions {
  strategy: Strategy;
  /** Monotonic clock, ms. */
  now?: () => number;
  /** Uniform in [0, 1). */
  random?: () => number;
  ejection?: Partial<EjectionPolicy>;
  /** τ of the peak-EWMA decay, ms. */
  ewmaDecayMs?: number;
  /** Estimate of a new endpoint when no endpoint has a latency sample yet, ms. */
  initialRttMs?: number;
  observer?: BalancerObserver;
}

/** What the balancer knows about one endpoint (for the route status API and tests). */
export interface EndpointStats {
  index: number;
  port: number;
  ready: boolean;
  inFlight: number;
  /** Peak-EWMA latency estimate now, ms. */
  ewmaMs: number;
  /** Consecutive connect failures. */
  failures: number;
  /** How much longer it stays ejected, ms (0: not ejected). */
  ejectedForMs: number;
  picks: number;
}

interface EndpointState {
  readonly key: string;
  /** Sort key: index, then port. */
  readonly order: number;
  endpoint: LocalEndpoint;
  inFlight: number;
  ewma: Ewma;
  failures: number;
  ejectedUntil: number;
  /** Failures of picks numbered below this were under way before the current ejection: not counted. */
  countFrom: number;
  picks: number;
}

/** An entry of the list as the cache last saw it. */
interface Seen {
  endpoint: LocalEndpoint;
  index: number;
  port: number;
  ready: boolean;
}

function keyOf(endpoint: LocalEndpoint): string {
  return `${endpoint.index}@${endpoint.port}`;
}

/** Two distinct positions in 0..n-1 (n ≥ 2) from two uniform draws. */
export function pickTwo(n: number, random: () => number): [number, number] {
  const draw = (m: number) => Math.min(m - 1, Math.max(0, Math.floor(random() * m)));
  const first = draw(n);
  let second = draw(n - 1);
  if (second >= first) second += 1;
  return [first, second];
}

export class Balancer {
  strategy: Strategy;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly ejection: EjectionPolicy;
  private readonly decayMs: number;
  private readonly initialRttMs: number;
  private readonly observer: BalancerObserver | undefined;
  private readonly states = new Map<string, EndpointState>();
  /** Order of the endpoint picked last (round-robin cursor and tie-breaker). */
  private last = -1;
  /** Number of the next pick. */
  private seq = 0;
  /**
   * The last list pick() synced and its sorted ready states: the agent passes the same array until its
   * workers change, so a request costs no sync. Reused only while every entry is the same object with
   * the same index, port and readiness as then, and no other state lingers.
   */
  private cache: { list: readonly LocalEndpoint[]; seen: Seen[]; ready: EndpointState[] } | undefined;

  constructor(options: BalancerOptions) {
    this.strategy = options.strategy;
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.ejection = { ...DEFAULT_EJECTION, ...options.ejection };
    this.decayMs = options.ewmaDecayMs ?? DEFAULT_DECAY_MS;
    this.initialRttMs = options.initialRttMs ?? DEFAULT_INITIAL_RTT_MS;
    this.observer = options.observer;
  }

  /** The endpoint for the next request or connection; undefined when no endpoint is ready. */
  pick(endpoints: readonly LocalEndpoint[]): Pick | undefined {
    const ready = this.readyStates(endpoints);
    if (ready.length === 0) return undefined;
    // The clock is read only when something needs it (an ejection, p2c-ewma, a new list): a read
    // costs about as much as the rest of a round-robin pick.
    let now = Number.NaN;
    let ejected = false;
    for (const state of ready) {
      if (state.ejectedUntil === 0) continue;
      if (Number.isNaN(now)) now = this.now();
      if (state.ejectedUntil > now) ejected = true;
    }
    const healthy = ejected ? ready.filter((state) => state.ejectedUntil <= now) : ready;
    const panic = healthy.length === 0;
    const chosen = panic ? this.leastEjected(ready) : this.choose(healthy, now);
    return this.start(chosen, panic);
  }

  /** The ready states of the list, sorted (from the cache when the list is unchanged). */
  private readyStates(endpoints: readonly LocalEndpoint[]): EndpointState[] {
    const cache = this.cache;
    if (cache !== undefined && cache.list === endpoints && this.unchanged(cache.seen, endpoints))
      return cache.ready;
    const listed = this.sync(endpoints, this.now());
    const ready = listed.filter((state) => state.endpoint.ready);
    ready.sort((a, b) => a.order - b.order);
    this.cache =
      this.states.size === listed.length
        ? {
            list: endpoints,
            seen: endpoints.map((e) => ({ endpoint: e, index: e.index, port: e.port, ready: e.ready })),
            ready,
          }
        : undefined;
    return ready;
  }

  private unchanged(seen: readonly Seen[], endpoints: readonly LocalEndpoint[]): boolean {
    if (seen.length !== endpoints.length) return false;
    for (let i = 0; i < seen.length; i++) {
      const was = seen[i] as Seen;
      const e = endpoints[i] as LocalEndpoint;
      if (was.endpoint !== e || was.index !== e.index || was.port !== e.port || was.ready !== e.ready)
        return false;
    }
    return true;
  }

  /** In-flight count of an endpoint (0 when unknown). */
  inFlight(endpoint: Pick["endpoint"]): number {
    return this.states.get(keyOf(endpoint))?.inFlight ?? 0;
  }

  /** Sum of in-flight counts, including endpoints that already left the list. */
  totalInFlight(): number {
    let total = 0;
    for (const state of this.states.values()) total += state.inFlight;
    return total;
  }

  stats(): EndpointStats[] {
    const now = this.now();
    return [...this.states.values()]
      .sort((a, b) => a.order - b.order)
      .map((state) => ({
        index: state.endpoint.index,
        port: state.endpoint.port,
        ready: state.endpoint.ready,
        inFlight: state.inFlight,
        ewmaMs: estimateAt(state.ewma, now, this.decayMs),
        failures: state.failures,
        ejectedForMs: Math.max(0, state.ejectedUntil - now),
        picks: state.picks,
      }));
  }

  /** Cost p2c-ewma gives an endpoint now (Infinity when unknown). */
  cost(endpoint: Pick["endpoint"]): number {
    const state = this.states.get(keyOf(endpoint));
    return state ? this.costOf(state, this.now()) : Number.POSITIVE_INFINITY;
  }

  /** Brings the states in line with the list; returns the listed ones (each endpoint once). */
  private sync(endpoints: readonly LocalEndpoint[], now: number): EndpointState[] {
    const listed = new Map<string, EndpointState>();
    for (const endpoint of endpoints) {
      const key = keyOf(endpoint);
      if (listed.has(key)) continue;
      let state = this.states.get(key);
      if (!state) {
        state = {
          key,
          order: endpoint.index * 65_536 + endpoint.port,
          endpoint,
          inFlight: 0,
          ewma: initialEwma(this.peerEstimate(now), now),
          failures: 0,
          ejectedUntil: 0,
          countFrom: 0,
          picks: 0,
        };
        this.states.set(key, state);
      }
      state.endpoint = endpoint;
      listed.set(key, state);
    }
    for (const [key, state] of this.states) {
      if (!listed.has(key) && state.inFlight === 0) this.states.delete(key);
    }
    return [...listed.values()];
  }

  /** A new endpoint starts at the mean estimate of those with samples: neither favoured nor shunned. */
  private peerEstimate(now: number): number {
    let sum = 0;
    let count = 0;
    for (const state of this.states.values()) {
      if (!state.ewma.sampled) continue;
      sum += estimateAt(state.ewma, now, this.decayMs);
      count++;
    }
    return count > 0 ? sum / count : this.initialRttMs;
  }

  /** `now`: NaN when the clock was not read yet (p2c-ewma reads it). */
  private choose(candidates: EndpointState[], now: number): EndpointState {
    switch (this.strategy) {
      case "round-robin":
        return this.nextAfterLast(candidates);
      case "least-request": {
        const min = Math.min(...candidates.map((state) => state.inFlight));
        return this.nextAfterLast(candidates.filter((state) => state.inFlight === min));
      }
      case "p2c-ewma": {
        if (candidates.length === 1) return candidates[0] as EndpointState;
        const [i, j] = pickTwo(candidates.length, this.random);
        const a = candidates[i] as EndpointState;
        const b = candidates[j] as EndpointState;
        const at = Number.isNaN(now) ? this.now() : now;
        const costA = this.costOf(a, at);
        const costB = this.costOf(b, at);
        if (costA !== costB) return costA < costB ? a : b;
        return this.nextAfterLast([a, b].sort((x, y) => x.order - y.order));
      }
    }
  }

  /** The first candidate after the last pick in (index, port) order, wrapping. Candidates are sorted. */
  private nextAfterLast(sorted: EndpointState[]): EndpointState {
    return sorted.find((state) => state.order > this.last) ?? (sorted[0] as EndpointState);
  }

  private leastEjected(sorted: EndpointState[]): EndpointState {
    const soonest = Math.min(...sorted.map((state) => state.ejectedUntil));
    return this.nextAfterLast(sorted.filter((state) => state.ejectedUntil === soonest));
  }

  private costOf(state: EndpointState, now: number): number {
    return cost(estimateAt(state.ewma, now, this.decayMs), state.inFlight);
  }

  private start(state: EndpointState, panic: boolean): Pick {
    const number = this.seq++;
    this.last = state.order;
    state.inFlight++;
    state.picks++;
    const endpoint = state.endpoint;
    this.observer?.picked?.(endpoint, state.inFlight, panic);
    let settled = false;
    return {
      endpoint,
      panic,
      done: (outcome) => {
        if (settled) return;
        settled = true;
        this.finish(state, number, outcome);
        this.observer?.finished?.(endpoint, outcome, state.inFlight);
      },
    };
  }

  private finish(state: EndpointState, number: number, outcome: UpstreamOutcome): void {
    state.inFlight = Math.max(0, state.inFlight - 1);
    const now = this.now();
    const fresh = number >= state.countFrom;
    if (isConnectFailure(outcome)) {
      if (!fresh) return;
      state.failures++;
      const forMs = ejectionMs(this.ejection, state.failures);
      state.ejectedUntil = now + forMs;
      state.countFrom = this.seq;
      this.observer?.ejected?.(state.endpoint, forMs, state.failures);
      return;
    }
    const serverError = outcome.status !== undefined && outcome.status >= 500;
    if (outcome.ok && !serverError) {
      state.ewma = observe(state.ewma, outcome.latencyMs, now, this.decayMs);
      if (fresh) {
        state.failures = 0;
        state.ejectedUntil = 0;
      }
    } else if (outcome.error === "timeout" || serverError) {
      state.ewma = observePenalty(state.ewma, outcome.latencyMs, now, this.decayMs);
    }
  }
}
