// `apply --wait`: polls GET /nodes and GET /workers until every node touched by the apply runs its
// latest plan (appliedRevision == desiredRevision) and every worker of the applied services is
// ready, printing a progress line per node whenever it changes, and a line per worker that exits
// and restarts (a crash loop shows at once, not as silence until the timeout). Progress is for
// people: apply writes it to stderr when stdout carries -o json or yaml. On timeout: exit 1 with
// one line naming the nodes and workers that are not there yet.
import { formatDuration } from "../../manifest/duration.ts";
import { type ApiClient, CtlFailure } from "./client.ts";
import type { ListOf, NodeView, WorkerView } from "./types.ts";

const POLL_MS = 250;
const LISTED = 8;

export interface NodeProgress {
  name: string;
  /** Node phase, or "not joined" for a node that workers are pinned to but that never joined. */
  phase: string;
  applied: number | undefined;
  desired: number | undefined;
  ready: number;
  total: number;
}

export interface RolloutState {
  done: boolean;
  nodes: NodeProgress[];
  lagging: NodeProgress[];
  notReady: WorkerView[];
}

/**
 * Where a rollout stands. The nodes that count are those whose desired revision moved since
 * `before` (all nodes when there is no snapshot) and those that host workers of `services`.
 */
export function rolloutState(
  nodes: readonly NodeView[],
  workers: readonly WorkerView[],
  services: ReadonlySet<string>,
  before: ReadonlyMap<string, number> | undefined,
): RolloutState {
  const ours = workers.filter((w) => services.has(w.service));
  const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const names = new Set<string>();
  for (const n of nodes) {
    if (!before || before.get(n.metadata.name) !== n.status.plan.desiredRevision) names.add(n.metadata.name);
  }
  for (const w of ours) names.add(w.node);
  const progress = [...names].sort().map((name): NodeProgress => {
    const node = byName.get(name);
    const here = ours.filter((w) => w.node === name);
    return {
      name,
      phase: node?.status.phase ?? "not joined",
      applied: node?.status.plan.appliedRevision,
      desired: node?.status.plan.desiredRevision,
      ready: here.filter((w) => w.ready).length,
      total: here.length,
    };
  });
  const lagging = progress.filter((p) => p.applied === undefined || (p.desired ?? 0) > p.applied);
  const notReady = ours.filter((w) => !w.ready);
  return { done: lagging.length === 0 && notReady.length === 0, nodes: progress, lagging, notReady };
}

/** `edge1: Ready, plan 3/4 applied, workers 1/2 ready` */
export function progressLine(p: NodeProgress): string {
  const plan = p.applied === undefined ? "no plan" : `plan ${p.applied}/${p.desired ?? 0} applied`;
  return `${p.name}: ${p.phase}, ${plan}, workers ${p.ready}/${p.total} ready`;
}

/**
 * `  web on edge1 #0: backoff, 3 restarts: crash loop: ...` for a worker of the rollout that is
 * restarting or failed: what it is doing instead of getting ready.
 */
export function troubleLine(w: WorkerView): string | undefined {
  if (w.ready || (w.phase !== "backoff" && w.phase !== "failed" && w.restarts === 0)) return undefined;
  const restarts = `${w.restarts} restart${w.restarts === 1 ? "" : "s"}`;
  const why = w.message ? `: ${w.message.replace(/\s+/g, " ")}` : "";
  return `  ${w.service} on ${w.node} #${w.index}: ${w.phase}, ${restarts}${why}`;
}

/** The one-line account of what a timed-out rollout did not reach. */
export function timeoutMessage(state: RolloutState, timeoutMs: number): string {
  const parts: string[] = [];
  if (state.lagging.length > 0) {
    const nodes = state.lagging.map((p) =>
      p.applied === undefined
        ? `${p.name} (${p.phase})`
        : `${p.name} at plan ${p.applied} of ${p.desired} (${p.phase})`,
    );
    parts.push(`node${nodes.length === 1 ? "" : "s"} not at the latest plan: ${nodes.join(", ")}`);
  }
  if (state.notReady.length > 0) {
    const listed = state.notReady.slice(0, LISTED).map((w) => {
      const why = w.message ? `: ${w.message.replace(/\s+/g, " ")}` : "";
      return `${w.service} on ${w.node} #${w.index} (${w.phase}${why})`;
    });
    const more = state.notReady.length - listed.length;
    parts.push(`workers not ready: ${listed.join(", ")}${more > 0 ? ` and ${more} more` : ""}`);
  }
  return `timed out after ${formatDuration(timeoutMs)}: ${parts.join("; ") || "state unknown"}`;
}

/** `workers failed: web on edge1 #0 (failed: command not found: x)` */
export function failedMessage(failed: readonly WorkerView[]): string {
  const listed = failed
    .slice(0, LISTED)
    .map((w) => `${w.service} on ${w.node} #${w.index} (failed: ${w.message.replace(/\s+/g, " ")})`);
  const more = failed.length - listed.length;
  return `workers failed: ${listed.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

/** The desired revision of every node now (taken before the apply). */
export async function revisionSnapshot(client: ApiClient): Promise<Map<string, number>> {
  const { items } = await client.request<ListOf<NodeView>>("GET", "/nodes");
  return new Map(items.map((n) => [n.metadata.name, n.status.plan.desiredRevision]));
}

export async function waitForRollout(
  client: ApiClient,
  services: ReadonlySet<string>,
  before: ReadonlyMap<string, number> | undefined,
  timeoutMs: number,
  out: (text: string) => void,
): Promise<number> {
  const started = Date.now();
  const printed = new Map<string, string>();
  let last: RolloutState | undefined;
  let lastError: CtlFailure | undefined;
  for (;;) {
    try {
      const [nodes, workers] = await Promise.all([
        client.request<ListOf<NodeView>>("GET", "/nodes"),
        client.request<ListOf<WorkerView>>("GET", "/workers"),
      ]);
      lastError = undefined;
      last = rolloutState(nodes.items, workers.items, services, before);
      for (const p of last.nodes) {
        const line = progressLine(p);
        if (printed.get(p.name) !== line) out(`${line}\n`);
        printed.set(p.name, line);
      }
      for (const w of last.notReady) {
        const line = troubleLine(w);
        const key = `${w.service}\0${w.node}\0${w.index}`;
        if (line && printed.get(key) !== line) out(`${line}\n`);
        if (line) printed.set(key, line);
      }
      if (last.done) {
        const workersTotal = last.nodes.reduce((sum, p) => sum + p.total, 0);
        const took = formatDuration(Math.max(1, Date.now() - started));
        out(
          `done: ${last.nodes.length} node(s) at their latest plan, ${workersTotal} worker(s) ready (${took})\n`,
        );
        return 0;
      }
      // A worker that cannot start (its node says failed, for the applied spec) will not get
      // ready by waiting: say so now, with the cause.
      const failed = last.notReady.filter(
        (w) => w.phase === "failed" && !w.message.startsWith("updating to generation"),
      );
      if (failed.length > 0 && last.lagging.length === 0) throw new CtlFailure(failedMessage(failed));
    } catch (err) {
      if (!(err instanceof CtlFailure) || !err.unreachable) throw err;
      lastError = err;
    }
    const left = started + timeoutMs - Date.now();
    if (left <= 0) {
      if (lastError && !last)
        throw new CtlFailure(`timed out after ${formatDuration(timeoutMs)}: ${lastError.message}`);
      throw new CtlFailure(
        `${timeoutMessage(last ?? { done: false, nodes: [], lagging: [], notReady: [] }, timeoutMs)}` +
          (lastError ? ` (last poll: ${lastError.message})` : ""),
      );
    }
    await Bun.sleep(Math.min(POLL_MS, left));
  }
}
