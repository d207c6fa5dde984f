// Reconnect delays: exponential backoff with full jitter (a uniformly random delay between 0
// and min(cap, base * 2^attempt)), so that a thousand edges losing the broker at once do not
// come back in lockstep. KubeEdge retries on a fixed schedule with no jitter; this spreads them.

export interface BackoffOptions {
  /** The ceiling of the first delay, ms (PROTOCOL.md: 1 s). */
  baseMs: number;
  /** The largest ceiling, ms (PROTOCOL.md: 60 s). */
  capMs: number;
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 60_000 };

/** The ceiling for a given attempt (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 52);
  return Math.min(options.capMs, options.baseMs * 2 ** exp);
}

/** A delay for a given attempt: full jitter over [0, ceiling). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * backoffCeiling(attempt, options));
}

/** The attempt counter around backoffDelay. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** The delay before the next attempt; each call doubles the next ceiling (up to the cap). */
  next(): number {
    const delay = backoffDelay(this.attempt, this.options);
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
