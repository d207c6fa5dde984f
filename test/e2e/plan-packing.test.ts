// Packed plans with real agents (harness): a plan change reaches the edge as a delta (its
// levee_sync_plans_received_total{form="delta"}) and its worker runs the new generation (the
// environment it serves); an edge that lost its base (its stored plan's hash no longer the one the
// cloud acknowledged) says so in its hello and gets the next plan whole. The bytes are counted on
// both sides: the agent's levee_sync_bytes_total by kind, the broker's per node.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  loggedStep,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";
import { sample } from "../harness/prometheus-text.ts";
import { agentWorkers } from "../harness/workers.ts";

let c: Cluster;
const step = loggedStep(() => c);

const service = (mark: string) =>
  httpWorkerService("web", [{ node: "edge1", replicas: 1 }], { env: { MARK: mark } });

const edge = () => c.edges[0] as NonNullable<Cluster["edges"][number]>;
const metrics = async () => (await fetch(`${edge().agentUrl}/metrics`)).text();

/** The worker serves MARK = `mark` (its new generation started). */
async function serves(mark: string): Promise<boolean> {
  const [w] = await agentWorkers(edge().agentUrl, "web");
  if (!w?.ready || !w.port) return false;
  const res = await fetch(`http://${edge().address}:${w.port}/env`).catch(() => undefined);
  return res?.ok === true && ((await res.json()) as Record<string, string>).MARK === mark;
}

beforeAll(async () => {
  c = await startCluster({ edges: 1 });
  await applyManifest(c, service("one"));
  await waitUntil("the worker serving generation one", () => serves("one"), 30_000);
}, 60_000);
afterAll(async () => {
  await c?.destroy();
});

describe("packed plans", () => {
  test(
    "a plan change arrives as a delta and the worker runs the new generation",
    step(async () => {
      // The first plan's ack made it the base.
      await waitUntil("the first plan acknowledged", async () => {
        const cloud = await (await c.cloud.api("/metrics")).text();
        return sample(cloud, 'levee_node_plan_lag_revisions{node="edge1"}') === 0;
      });
      const before = sample(await metrics(), 'levee_sync_plans_received_total{form="delta"}') ?? 0;
      await applyManifest(c, service("two"));
      await waitUntil("the worker serving generation two", () => serves("two"), 30_000);
      const text = await metrics();
      expect(sample(text, 'levee_sync_plans_received_total{form="delta"}')).toBe(before + 1);
      expect(sample(text, 'levee_sync_bytes_total{direction="received",kind="plan-packed"}')).toBeGreaterThan(
        0,
      );
      const cloud = await (await c.cloud.api("/metrics")).text();
      expect(sample(cloud, 'levee_sync_plans_sent_total{form="delta"}')).toBeGreaterThanOrEqual(1);
      const up = sample(cloud, 'levee_sync_node_bytes_total{node="edge1",direction="up"}') ?? 0;
      const down = sample(cloud, 'levee_sync_node_bytes_total{node="edge1",direction="down"}') ?? 0;
      expect(up).toBeGreaterThan(0);
      expect(down).toBeGreaterThan(0);
    }),
    60_000,
  );

  test(
    "an edge that lost its base gets the next plan whole",
    step(async () => {
      await edge().stop();
      const db = new Database(join(edge().dataDir, "levee.db"));
      db.query("UPDATE node_plan SET hash = 'lost'").run();
      db.close();
      await applyManifest(c, service("three"));
      await edge().restart();
      await waitUntil("the worker serving generation three", () => serves("three"), 30_000);
      const text = await metrics();
      // Counters start again with the agent: this plan came whole (plain or deflated), not as a delta.
      expect(sample(text, 'levee_sync_plans_received_total{form="delta"}') ?? 0).toBe(0);
      const whole =
        (sample(text, 'levee_sync_plans_received_total{form="plain"}') ?? 0) +
        (sample(text, 'levee_sync_plans_received_total{form="deflated"}') ?? 0);
      expect(whole).toBeGreaterThanOrEqual(1);
    }),
    60_000,
  );
});
