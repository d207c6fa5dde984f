// The edge link's clock: the time and its timers (heartbeats, hello retries, the status flush)
// behind one small interface, so the handlers that start and stop them are tested with a fake
// clock that fires them on demand.

/** Stops a timer that every or after started. */
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls fn every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Calls fn once after `ms` unless cancelled first. */
  after(ms: number, fn: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
