// Peak-EWMA latency estimate (pure), the load measure of the p2c-ewma balancer, after Finagle's and
// Linkerd's "peak EWMA":
//
//   estimate read at time t:  E(t) = e · exp(−(t − tₑ) / τ)         (idle decay towards 0)
//   sample s arriving at t:   w = exp(−(t − tₑ) / τ)
//                             e ← s                if s > E(t)      (peak: a slowdown counts at once)
//                             e ← e · w + s · (1 − w)   otherwise    (a speed-up counts gradually)
//                             tₑ ← t
//   cost of an endpoint:      C = max(E(t), FLOOR_MS) · (inFlight + 1)
//
// τ (decayMs) is 10 s by default. The idle decay lets an endpoint that was slow once and then got no
// traffic be tried again; the in-flight factor spreads a burst before any latency is known; the floor
// keeps an endpoint whose estimate decayed to ~0 from swallowing a whole burst.

/** Time constant of the decay, ms (Linkerd's and Finagle's default). */
export const DEFAULT_DECAY_MS = 10_000;
/** Estimate of an endpoint that has no sample yet, when no other endpoint has one either, ms. */
export const DEFAULT_INITIAL_RTT_MS = 1;
/** Lowest estimate the cost uses, ms. */
export const FLOOR_MS = 0.01;

export interface Ewma {
  /** e: the estimate as of `at`, ms. */
  readonly estimateMs: number;
  /** tₑ: when it was last updated (the balancer's clock, ms). */
  readonly at: number;
  /** Whether it holds a real sample (false: the initial guess). */
  readonly sampled: boolean;
}

export function initialEwma(estimateMs: number, now: number): Ewma {
  return { estimateMs: Math.max(0, estimateMs), at: now, sampled: false };
}

function weight(ewma: Ewma, now: number, decayMs: number): number {
  return Math.exp(-Math.max(0, now - ewma.at) / decayMs);
}

/** E(t): the estimate decayed to `now`. */
export function estimateAt(ewma: Ewma, now: number, decayMs = DEFAULT_DECAY_MS): number {
  return ewma.estimateMs * weight(ewma, now, decayMs);
}

/** The estimate after a latency sample. A negative or non-finite sample is ignored. */
export function observe(ewma: Ewma, sampleMs: number, now: number, decayMs = DEFAULT_DECAY_MS): Ewma {
  if (!Number.isFinite(sampleMs) || sampleMs < 0) return ewma;
  const w = weight(ewma, now, decayMs);
  const current = ewma.estimateMs * w;
  const estimateMs = sampleMs > current ? sampleMs : ewma.estimateMs * w + sampleMs * (1 - w);
  return { estimateMs, at: Math.max(ewma.at, now), sampled: true };
}

/** Like observe, but the sample may only raise the estimate (a failure never makes it look faster). */
export function observePenalty(ewma: Ewma, sampleMs: number, now: number, decayMs = DEFAULT_DECAY_MS): Ewma {
  if (!Number.isFinite(sampleMs) || sampleMs <= estimateAt(ewma, now, decayMs)) return ewma;
  return { estimateMs: sampleMs, at: Math.max(ewma.at, now), sampled: true };
}

/** C: what p2c-ewma compares; lower is better. */
export function cost(estimateMs: number, inFlight: number): number {
  return Math.max(estimateMs, FLOOR_MS) * (Math.max(0, inFlight) + 1);
}
