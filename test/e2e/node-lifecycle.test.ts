// Node lifecycle with real processes (docs/PROTOCOL.md, "Presence and node phase"): an edge that
// dies is Disconnected at once (its last will), Lost after the smallest lostAfter of its services;
// then its nodeSelector workers leave its plan while pinned ones stay, each phase change is an
// event, and when it comes back it is Ready and gets its nodeSelector workers again.
// Runs with the broker of LEVEE_TEST_BROKER (embedded by default).
import { describe, expect, test } from "bun:test";
import { applyManifest, type Cluster, waitUntil, withCluster } from "../harness/cluster.ts";
import { eventsUntil } from "../harness/events.ts";

const LABELS = `apiVersion: levee/v1
kind: Node
metadata: { name: edge1, labels: { role: camera } }
---
apiVersion: levee/v1
kind: Node
metadata: { name: edge2, labels: { role: camera } }
`;

const SERVICE = `apiVersion: levee/v1
kind: Service
metadata: { name: cam }
spec:
  template: { command: ["node", "cam.js"] }
  workers:
    - nodeSelector: { role: camera }
    - node: edge1
  lostAfter: 2s
`;

interface Worker {
  service: string;
  node: string;
  index: number;
}

async function phase(c: Cluster, node: string): Promise<string> {
  const res = await c.cloud.api(`/api/v1/nodes/${node}`);
  return ((await res.json()) as { status: { phase: string } }).status.phase;
}

/** node → number of cam workers the plans place there. */
async function placement(c: Cluster): Promise<Record<string, number>> {
  const res = await c.cloud.api("/api/v1/workers?service=cam");
  const out: Record<string, number> = {};
  for (const w of ((await res.json()) as { items: Worker[] }).items) out[w.node] = (out[w.node] ?? 0) + 1;
  return out;
}

describe("node lifecycle", () => {
  test("a dead edge is Disconnected, then Lost after lostAfter: its selector workers go, and come back", async () => {
    await withCluster({ edges: 2 }, async (c) => {
      const [edge1] = c.edges;
      if (!edge1) throw new Error("no edge1");
      await applyManifest(c, LABELS, "application/yaml");
      await applyManifest(c, SERVICE, "application/yaml");
      await waitUntil("cam on both edges", async () => {
        const p = await placement(c);
        return p.edge1 === 2 && p.edge2 === 1;
      });

      edge1.kill("SIGKILL");
      await edge1.process.exited;
      // the broker publishes its last will: Disconnected at once, not after missed heartbeats
      const killedAt = performance.now();
      await waitUntil("edge1 Disconnected", async () => (await phase(c, "edge1")) === "Disconnected", 3000);
      expect(performance.now() - killedAt).toBeLessThan(1500);
      expect(await placement(c)).toEqual({ edge1: 2, edge2: 1 }); // nothing moves while Disconnected

      await waitUntil("edge1 Lost", async () => (await phase(c, "edge1")) === "Lost", 6000);
      const lostAfterMs = performance.now() - killedAt;
      expect(lostAfterMs).toBeGreaterThan(1800);
      expect(lostAfterMs).toBeLessThan(4500);
      // the nodeSelector worker left edge1's plan; the pinned one stays
      expect(await placement(c)).toEqual({ edge1: 1, edge2: 1 });
      const node = (await (await c.cloud.api("/api/v1/nodes/edge1")).json()) as {
        status: { plan: { desiredRevision: number; appliedRevision: number } };
      };
      expect(node.status.plan.desiredRevision).toBeGreaterThan(node.status.plan.appliedRevision);

      const events = await eventsUntil(c, (e) => e.name === "edge1" && e.reason === "Lost");
      const phases = events.filter((e) => e.kind === "Node" && e.name === "edge1").map((e) => e.reason);
      expect(phases.slice(-2)).toEqual(["Disconnected", "Lost"]);
      expect(events.at(-1)?.message).toContain("lostAfter");

      await edge1.restart();
      await waitUntil("edge1 Ready", async () => (await phase(c, "edge1")) === "Ready", 10_000);
      await waitUntil("cam back on edge1", async () => (await placement(c)).edge1 === 2, 5000);
      // and edge1 applies the plan that has its selector worker again
      await waitUntil("edge1 applied its plan", async () => {
        const res = await c.cloud.api("/api/v1/nodes/edge1");
        const n = (await res.json()) as typeof node;
        return n.status.plan.appliedRevision === n.status.plan.desiredRevision;
      });
      const plan = (await (await fetch(`${edge1.agentUrl}/v1/plan`)).json()) as {
        plan: { services: { name: string; workers: unknown[] }[] };
      };
      expect(plan.plan.services.map((s) => [s.name, s.workers.length])).toEqual([["cam", 2]]);
    });
  }, 60_000);
});
