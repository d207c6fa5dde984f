// Repeated hellos (docs/PROTOCOL.md, "Connect"), as pure decisions. An edge not yet welcomed on
// its connection asks again after a jittered, doubling delay; the cloud answers a repeated hello
// whose plan already went out on that connection less than a heartbeat ago with a welcome only.
// Without both, a cloud a few seconds behind got every waiting edge's hello again, and a whole
// plan for each one: more work exactly when it had the least time (BENCHMARKS.md).

/**
 * The edge's hello retries end up a minute apart. They need not come sooner: the edge's heartbeats
 * (every 5 s until a welcome says otherwise) also get it a welcome, and its plan when behind.
 */
export const HELLO_RETRY_CAP_MS = 60_000;

/**
 * The delay before hello retry `attempt` (0 = the first retry): a base of 1 s doubling per attempt
 * (at most half of `capMs`) times a random factor in [1, 2), so that edges that connected together
 * do not ask again together: [1, 2) s, [2, 4) s, ..., never more than `capMs`.
 */
export function helloRetryDelayMs(
  attempt: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(capMs / 2, 1000 * 2 ** Math.max(0, attempt));
  return Math.floor(base * (1 + random()));
}

/** A plan the cloud sent to a node: which one, and when (cloud clock, ms). */
export interface SentPlan {
  revision: number;
  hash: string;
  atMs: number;
}

/**
 * On a hello from a node that lacks its desired plan: true when exactly that plan was sent on the
 * node's current connection (after its online presence, `connectedSinceMs`) less than a heartbeat
 * ago: it is on its way, and the hello is a repeat. A plan sent on an earlier connection may have
 * been lost with it, so then (or when the connection is unknown) the answer is false.
 */
export function planOnItsWay(
  sent: SentPlan | undefined,
  desired: { revision: number; hash: string },
  connectedSinceMs: number | undefined,
  nowMs: number,
  heartbeatSeconds: number,
): boolean {
  if (!sent || connectedSinceMs === undefined) return false;
  if (sent.revision !== desired.revision || sent.hash !== desired.hash) return false;
  if (sent.atMs < connectedSinceMs) return false;
  return nowMs - sent.atMs < heartbeatSeconds * 1000;
}
