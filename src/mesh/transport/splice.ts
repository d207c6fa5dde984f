// Joins two Duplexes into one pipe, both ways, with back-pressure: a side whose peer's write queue
// is full is paused until the peer drains. A half-close travels through (end → end); a side that
// breaks takes the other down with it. The relay splices its two legs with it.
import type { Duplex } from "../contracts.ts";

function pipe(from: Duplex, to: Duplex): void {
  from.onData((chunk) => {
    if (!to.write(chunk)) from.pause();
  });
  to.onDrain(() => from.resume());
  from.onEnd(() => to.end());
}

/** Splices a and b; `onClose` runs once both sides are closed. */
export function splice(a: Duplex, b: Duplex, onClose?: (error?: Error) => void): void {
  let open = 2;
  let firstError: Error | undefined;
  const closed = (other: Duplex) => (error?: Error) => {
    firstError ??= error;
    if (error) other.destroy(error);
    else other.end();
    if (--open === 0) onClose?.(firstError);
  };
  pipe(a, b);
  pipe(b, a);
  a.onClose(closed(b));
  b.onClose(closed(a));
}
