// A token bucket, pure (the caller passes the clock): the arithmetic of a node's download bandwidth
// cap. Tokens are bytes; they accrue at `rate` per second up to `burst`. A reservation of n bytes
// always succeeds and says how long the caller must wait before using them: the bucket may go into
// debt, so a chunk larger than the burst is still let through, only later. Every download of a
// node reserves from the one bucket, so together they stay within the cap (long-run rate ≤ rate,
// plus one burst). bandwidth-limit.ts does the waiting.

export class TokenBucket {
  private tokens: number;
  private last: number;

  /** `rate` bytes per second (> 0), at most `burst` bytes saved up; full at `now` (ms). */
  constructor(
    private rate: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError("a token bucket needs a positive rate and burst");
    this.tokens = burst;
    this.last = now;
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  /** Takes n bytes at `now` (ms); returns the ms to wait before sending them (0: at once). */
  reserve(n: number, now: number): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }

  /** A new rate from `now` on; tokens saved up so far are kept (at most one burst). */
  setRate(rate: number, now: number): void {
    if (!(rate > 0)) throw new RangeError("a token bucket needs a positive rate");
    this.refill(now);
    this.rate = rate;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last);
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}

/** The burst for a cap: a tenth of a second's bytes, at least 16 KiB (one read's worth). */
export function burstFor(bytesPerSecond: number): number {
  return Math.max(16 * 1024, Math.floor(bytesPerSecond / 10));
}
