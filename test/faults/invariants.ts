// The invariant checker of the fault suites: what must hold whatever the network or the crashes did,
// judged from what the suite observed (pure, so that it is tested on its own and can be shown to
// catch what it checks):
//   - no acknowledged update lost: every generation the API accepted (200) is the one every node
//     runs in the end, or a later one;
//   - no duplicate worker: at no observation did a node run two processes for one (service, index);
//   - no worker restarted because of a reconnect: a worker whose spec did not change kept its pid;
//   - mesh requests fail only when no route exists: a failed request to node N's service port was
//     made while the path to N was cut (or within `graceMs` of a cut or heal);
//   - convergence: after each heal, how long until every node applied its plan (p50, p99).

export interface Observations {
  /** Generations the API acknowledged for the changing service, in order. */
  acknowledged: number[];
  /** The generation each node runs at the end (from its workers' generation). */
  finalGeneration: Record<string, number | undefined>;
  /** Every scan of the processes: per node, (service/index) → number of live processes. */
  processScans: { at: number; node: string; worker: string; count: number }[];
  /** The steady workers' pids at the start and at the end, per `node/service/index`. */
  steadyPids: { start: Record<string, number>; end: Record<string, number | undefined> };
  /** Mesh requests made to node `node`, with their outcome. */
  requests: { at: number; node: string; ok: boolean }[];
  /** When the path from the client to each node was cut (intervals, ms). */
  cutWindows: Record<string, { from: number; to: number }[]>;
  /** Convergence after each heal, ms. */
  convergenceMs: number[];
}

export interface Verdict {
  lostUpdates: string[];
  duplicates: string[];
  restartedByReconnect: string[];
  unroutedFailures: string[];
  convergence: { p50: number; p99: number; max: number; count: number };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export function check(o: Observations, graceMs: number): Verdict {
  const last = o.acknowledged.at(-1);
  const lostUpdates =
    last === undefined
      ? []
      : Object.entries(o.finalGeneration)
          .filter(([, g]) => g === undefined || g < last)
          .map(([node, g]) => `${node} runs generation ${g ?? "none"}, the API acknowledged ${last}`);
  const duplicates = o.processScans
    .filter((s) => s.count > 1)
    .map((s) => `${s.node} ran ${s.count} processes for ${s.worker} at ${new Date(s.at).toISOString()}`);
  const restartedByReconnect = Object.entries(o.steadyPids.start)
    .filter(([key, pid]) => o.steadyPids.end[key] !== pid)
    .map(([key, pid]) => `${key}: pid ${pid} at the start, ${o.steadyPids.end[key] ?? "none"} at the end`);
  const cutAt = (node: string, at: number) =>
    (o.cutWindows[node] ?? []).some((w) => at >= w.from - graceMs && at <= w.to + graceMs);
  const unroutedFailures = o.requests
    .filter((r) => !r.ok && !cutAt(r.node, r.at))
    .map((r) => `a request to ${r.node} failed at ${new Date(r.at).toISOString()} with its path up`);
  return {
    lostUpdates,
    duplicates,
    restartedByReconnect,
    unroutedFailures,
    convergence: {
      p50: percentile(o.convergenceMs, 50),
      p99: percentile(o.convergenceMs, 99),
      max: Math.max(0, ...o.convergenceMs),
      count: o.convergenceMs.length,
    },
  };
}
