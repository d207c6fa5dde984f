// Asking route() where a request goes, for an exchange (exchange.ts). route() may answer at once,
// later (a promise: the client connection is driven again once it settles, since requests read
// meanwhile wait in its buffer) or throw; a throw and a rejection are the same failure. Apart from
// the exchange because the three ways a decision can arrive are a concern of their own.
import type { ClientSide } from "./client-side.ts";
import type { RequestHead } from "./http-parser.ts";
import type { RouteDecision } from "./http-types.ts";

/** Who waits for the decision (an exchange; it ignores one that comes after it is over). */
export interface RouteWaiter {
  decide(decision: RouteDecision): void;
  routeFailed(error: unknown): void;
}

/** Asks route() where `req` goes; `waiter` gets the decision or the failure, once. */
export function askRoute(conn: ClientSide, req: RequestHead, waiter: RouteWaiter): void {
  let decision: RouteDecision | Promise<RouteDecision>;
  try {
    decision = conn.ctx.route(req, conn.info);
  } catch (error) {
    waiter.routeFailed(error);
    return;
  }
  if (decision instanceof Promise) {
    decision.then(
      (d) => {
        waiter.decide(d);
        conn.drive();
      },
      (error) => waiter.routeFailed(error),
    );
    return;
  }
  waiter.decide(decision);
}
