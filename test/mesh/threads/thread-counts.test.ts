// The mesh threads' counters summed in the main thread's MeshMetrics: a thread's tally hands out
// what changed since the last post (nothing twice, nothing lost), the main thread adds it; two
// threads and the main thread counting the same worker sum up in /metrics' counters and in the
// cells the traffic reports read; in-flight numbers are each thread's current value and go when the
// thread goes; a scrape waits for the threads' counters when a sync is set.
import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { MeshMetrics } from "../../../src/mesh/routing/metrics.ts";
import type { RouteDecision } from "../../../src/mesh/routing/route.ts";
import { decodeFromThread, THREAD_MESSAGES_VERSION } from "../../../src/mesh/threads/messages.ts";
import { isEmpty, ThreadCounts, ThreadTally } from "../../../src/mesh/threads/thread-counts.ts";
import { endpoint } from "../routing/helpers.ts";

const ok = { ok: true, status: 200, latencyMs: 2 };
const REFUSAL: RouteDecision = {
  kind: "refuse",
  status: 503,
  reason: "no-ready-worker",
  error: "no ready worker",
  header: "no ready worker",
  body: { error: "no ready worker", service: "api", node: "edge1" },
};
const FORWARD: RouteDecision = {
  kind: "forward",
  node: "cloud",
  reason: "fallback-cloud",
  detail: "no ready worker here",
  target: { kind: "node", node: "cloud", service: "api" },
};

/** The samples of a metric, by their label string. */
async function samples(registry: Registry, name: string): Promise<Record<string, number>> {
  const text = await registry.metrics();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const at = line.lastIndexOf(" ");
    out[line.slice(name.length, at)] = Number(line.slice(at + 1));
  }
  return out;
}

describe("ThreadTally", () => {
  test("hands out each change once: requests, latency, in flight, events, accepted connections", () => {
    const tally = new ThreadTally();
    const observer = tally.observer("api", "edge1", "http");
    const worker = endpoint(1);
    observer.picked?.(worker, 1, false);
    observer.finished?.(worker, ok, 0);
    observer.picked?.(worker, 1, true);
    observer.ejected?.(worker, 1000, 1);
    tally.decision("api", "edge1", REFUSAL);
    tally.decision("api", "edge1", REFUSAL);
    tally.accepted += 3;

    const first = tally.take();
    expect(first.accepted).toBe(3);
    expect(first.cells).toHaveLength(1);
    const cell = first.cells[0];
    expect(cell?.worker).toBe(1);
    expect(cell?.outcomes[0]).toBe(1);
    expect(cell?.latencyCount).toBe(1);
    expect(cell?.inFlight).toBe(1);
    expect(first.events).toContainEqual({
      kind: "refusal",
      service: "api",
      node: "edge1",
      reason: "no-ready-worker",
      n: 2,
    });
    expect(first.events).toContainEqual({ kind: "panic", service: "api", node: "edge1", n: 1 });
    expect(first.events).toContainEqual({
      kind: "ejection",
      service: "api",
      node: "edge1",
      worker: "1",
      n: 1,
    });
    // Nothing new: an empty delta (not posted).
    expect(isEmpty(tally.take())).toBe(true);
    observer.finished?.(worker, { ok: false, latencyMs: 1, error: "reset" }, 0);
    const second = tally.take();
    expect(second.cells[0]?.outcomes).toEqual([0, 0, 0, 1, 0, 0]);
    expect(second.cells[0]?.inFlight).toBe(0);
    expect(second.events).toEqual([]);
  });
});

describe("ThreadCounts", () => {
  test("the main thread's and two threads' requests to one worker sum up in /metrics and in the cells", async () => {
    const registry = new Registry();
    const metrics = new MeshMetrics(registry);
    const counts = new ThreadCounts(metrics);
    const worker = endpoint(0);
    const main = metrics.observer("api", "edge1", "http");
    main.picked?.(worker, 1, false);
    main.finished?.(worker, ok, 0);
    metrics.accepted(0);
    for (const thread of [1, 2]) {
      const tally = new ThreadTally();
      const observer = tally.observer("api", "edge1", "http");
      for (let i = 0; i < thread * 10; i++) {
        observer.picked?.(worker, 1, false);
        observer.finished?.(worker, ok, 0);
      }
      observer.picked?.(worker, 1, false); // one still under way
      tally.decision("api", "edge1", FORWARD);
      tally.accepted = thread * 10;
      // Through the message as posted (structured clone keeps plain data).
      const message = decodeFromThread(
        structuredClone({ v: THREAD_MESSAGES_VERSION, type: "counts", counts: tally.take() }),
      );
      if (message?.type !== "counts") throw new Error("the counts message does not decode");
      counts.apply(thread, message.counts);
    }
    const requests = await samples(registry, "levee_mesh_requests_total");
    expect(requests['{service="api",node="edge1",worker="0",outcome="ok"}']).toBe(31);
    const latency = await samples(registry, "levee_mesh_upstream_latency_seconds_count");
    expect(Object.values(latency)).toEqual([31]);
    expect(Object.values(await samples(registry, "levee_mesh_in_flight"))).toEqual([2]);
    expect(Object.values(await samples(registry, "levee_mesh_forwards_total"))).toEqual([2]);
    expect(await samples(registry, "levee_mesh_thread_connections_total")).toEqual({
      '{thread="0"}': 1,
      '{thread="1"}': 10,
      '{thread="2"}': 20,
    });
    // The traffic reports read the cells: the same totals.
    const [cell] = [...metrics.cells.all()];
    expect(cell?.outcomes[0]).toBe(31);
    // A thread that goes takes its in-flight requests with it.
    counts.forget(2);
    expect(Object.values(await samples(registry, "levee_mesh_in_flight"))).toEqual([1]);
  });

  test("a scrape waits for the threads' counters when a sync is set", async () => {
    const registry = new Registry();
    const metrics = new MeshMetrics(registry);
    const counts = new ThreadCounts(metrics);
    const tally = new ThreadTally();
    const observer = tally.observer("api", "edge1", "http");
    observer.picked?.(endpoint(0), 1, false);
    observer.finished?.(endpoint(0), ok, 0);
    let syncs = 0;
    metrics.syncWith(async () => {
      syncs++;
      await Bun.sleep(5);
      counts.apply(1, tally.take());
    });
    const requests = await samples(registry, "levee_mesh_requests_total");
    expect(Object.values(requests)).toEqual([1]);
    // One sync round per scrape, shared by every metric.
    expect(syncs).toBe(1);
  });
});
