// What `levee demo` does with the pipeline over HTTP: applies it through the cloud API (as
// `levee ctl apply` would), waits until its workers are ready, and reads the distributor's numbers.
import type { WorkerView } from "../../cloud/workers-view.ts";
import { describeError } from "../../runtime/errors.ts";
import type { PipelineStats } from "./summary.ts";

/** What the demo reads of GET /api/v1/workers. */
type CloudWorker = Pick<WorkerView, "service" | "node" | "index" | "ready" | "phase" | "message">;

/** POST /api/v1/apply; throws with the API's error (and its issues) when refused. */
export async function applyPipeline(cloudUrl: string, adminToken: string, objects: unknown[]): Promise<void> {
  const res = await fetch(new URL("/api/v1/apply", cloudUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(objects),
    signal: AbortSignal.timeout(15_000),
  });
  if (res.ok) return;
  const body = (await res.json().catch(() => ({}))) as {
    error?: string;
    issues?: { path: string; message: string }[];
  };
  const issues = (body.issues ?? []).map((i) => `${i.path}: ${i.message}`).join("; ");
  throw new Error(
    `the cloud refused the pipeline (HTTP ${res.status}): ${body.error ?? ""} ${issues}`.trim(),
  );
}

/**
 * Waits until every Service of `counts` has that many ready workers. Resolves with the workers
 * that are not ready (empty when all are), when ready, stopped, or after timeoutMs.
 */
export async function waitPipelineReady(
  cloudUrl: string,
  adminToken: string,
  counts: ReadonlyMap<string, number>,
  timeoutMs: number,
  stopped: () => boolean,
): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  let missing: string[] = [...counts.keys()].map((s) => `${s}: no worker reported yet`);
  while (performance.now() < deadline && !stopped()) {
    try {
      const res = await fetch(new URL("/api/v1/workers", cloudUrl), {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(5000),
      });
      const { items } = (await res.json()) as { items: CloudWorker[] };
      missing = notReady(items, counts);
      if (missing.length === 0) return [];
    } catch (err) {
      missing = [`cloud API: ${describeError(err)}`];
    }
    await Bun.sleep(250);
  }
  return missing;
}

/** The workers (or missing workers) that keep the pipeline from being ready (pure). */
export function notReady(items: readonly CloudWorker[], counts: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [service, count] of counts) {
    const mine = items.filter((w) => w.service === service);
    for (const w of mine)
      if (!w.ready)
        out.push(`${service} on ${w.node} #${w.index}: ${w.phase}${w.message ? ` (${w.message})` : ""}`);
    if (mine.length < count) out.push(`${service}: ${mine.length} of ${count} workers planned`);
  }
  return out;
}

/** The distributor's GET /stats, or why not. */
export async function fetchStats(url: string): Promise<PipelineStats | { error: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return { error: `HTTP ${res.status} ${(await res.text()).slice(0, 200)}` };
    return (await res.json()) as PipelineStats;
  } catch (err) {
    return { error: describeError(err) };
  }
}
