// Cordon and drain with real agents: a cordoned node gets no new nodeSelector workers (a scale-up,
// a new service) while its running ones stay; `levee ctl get nodes` says SchedulingDisabled; a drain
// moves its selector workers to the other matching node with never a moment without a ready worker
// (a sampler polls the cloud's and the agents' views throughout), keeps the worker pinned to the node
// by name and says so (workers are ready 2 s after they start, so the hand-over has to wait); the events record it; uncordon places selector workers there again.
import { describe, expect, test } from "bun:test";
import { applyManifest, type Cluster, runLevee, waitUntil, withCluster } from "../harness/cluster.ts";
import { agentWorkers } from "../harness/workers.ts";

interface Worker {
  service: string;
  node?: string;
  ready: boolean;
}

const service = (name: string, workers: unknown[]) =>
  JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: {
      template: {
        // Ready 2 s after it starts: a drain cannot be handed over before that.
        command: ["sh", "-c", 'sleep 2; touch "$PWD/ready"; exec sleep 1000'],
        health: { command: ["sh", "-c", 'test -f "$PWD/ready"'], interval: "1s" },
        stopTimeout: "2s",
      },
      workers,
    },
  });
const node = (name: string, zone: string) =>
  JSON.stringify({ apiVersion: "levee/v1", kind: "Node", metadata: { name, labels: { zone } } });
const selector = { nodeSelector: { zone: "a" } };

async function cloudWorkers(c: Cluster, name: string): Promise<Worker[]> {
  const res = await c.cloud.api(`/api/v1/workers?service=${name}`);
  return ((await res.json()) as { items: Worker[] }).items;
}

/** "node:ready" of each worker of the service in the cloud's view, sorted. */
async function placed(c: Cluster, name: string): Promise<string[]> {
  return (await cloudWorkers(c, name)).map((w) => `${w.node}:${w.ready}`).sort();
}

function ctl(c: Cluster, ...args: string[]) {
  return runLevee(["ctl", ...args, "--data-dir", c.cloud.dataDir]);
}

/** Polls the ready workers of a service (cloud view and the agents' own) until stopped. */
function sampler(c: Cluster, name: string) {
  const samples: { cloud: number; agents: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const cloud = (await cloudWorkers(c, name)).filter((w) => w.ready).length;
      let agents = 0;
      for (const edge of c.edges)
        agents += (await agentWorkers(edge.agentUrl, name)).filter((w) => w.ready).length;
      samples.push({ cloud, agents });
      await Bun.sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

describe("levee ctl cordon, drain, uncordon", () => {
  test("no new selector workers on a cordoned node; drain hands over ready first and keeps pinned ones", async () => {
    await withCluster({ edges: 2 }, async (c) => {
      const [edge1, edge2] = c.edges as [Cluster["edges"][0], Cluster["edges"][0]];
      await applyManifest(c, `[${node("edge1", "a")}, ${node("edge2", "b")}]`);
      await applyManifest(c, `[${service("web", [selector])}, ${service("pin", [{ node: "edge1" }])}]`);
      await waitUntil("web and pin ready on edge1", async () => {
        const all = [...(await placed(c, "web")), ...(await placed(c, "pin"))];
        return all.join() === "edge1:true,edge1:true";
      });

      const cordon = await ctl(c, "cordon", "edge1");
      expect(cordon.code, cordon.stderr).toBe(0);
      expect(cordon.stdout).toContain("node edge1 cordoned");
      const nodes = await ctl(c, "get", "nodes");
      expect(nodes.stdout).toMatch(/edge1\s+Ready,SchedulingDisabled/);
      expect(nodes.stdout).toMatch(/edge2\s+Ready\s/);

      // A scale-up and a new selector service: nothing new on edge1, its running worker stays.
      await applyManifest(
        c,
        `[${service("web", [{ ...selector, replicas: 2 }])}, ${service("fresh", [selector])}]`,
      );
      await Bun.sleep(3000);
      expect(await placed(c, "web")).toEqual(["edge1:true"]);
      expect(await cloudWorkers(c, "fresh")).toEqual([]);
      expect((await agentWorkers(edge1.agentUrl, "web")).length).toBe(1);

      // edge2 starts matching, and edge1 is drained at once: its web worker stays until edge2's are ready.
      const watch = sampler(c, "web");
      await Bun.sleep(300);
      await applyManifest(c, node("edge2", "a"));
      const drain = await ctl(c, "drain", "edge1");
      expect(drain.code, drain.stderr).toBe(0);
      expect(drain.stdout).toContain("1 worker of pin pinned to node edge1 by name: they stay");
      expect(drain.stdout).toMatch(
        /1 worker of web (stay until the workers on edge2 are ready|moved: edge2)/,
      );
      await waitUntil("web moved to edge2", async () => {
        const onEdge1 = await agentWorkers(edge1.agentUrl, "web");
        const onEdge2 = await agentWorkers(edge2.agentUrl, "web");
        return onEdge1.length === 0 && onEdge2.length === 2 && onEdge2.every((w) => w.ready);
      });
      await Bun.sleep(300);
      const samples = await watch.stop();
      expect(samples.length).toBeGreaterThan(5);
      expect(Math.min(...samples.map((s) => s.cloud))).toBeGreaterThanOrEqual(1);
      expect(Math.min(...samples.map((s) => s.agents))).toBeGreaterThanOrEqual(1);
      expect(await placed(c, "web")).toEqual(["edge2:true", "edge2:true"]);
      // The pinned worker stays; fresh went only to edge2.
      expect(await placed(c, "pin")).toEqual(["edge1:true"]);
      expect((await cloudWorkers(c, "fresh")).map((w) => w.node)).toEqual(["edge2"]);
      expect((await ctl(c, "get", "nodes")).stdout).toMatch(/edge1\s+Ready,SchedulingDisabled/);
      const events = await ctl(c, "events", "--node", "edge1");
      expect(events.stdout).toContain("Cordoned");
      expect(events.stdout).toContain("Drained");

      const uncordon = await ctl(c, "uncordon", "edge1");
      expect(uncordon.stdout).toContain("node edge1 uncordoned");
      await waitUntil("selector workers back on edge1", async () => {
        const web = await placed(c, "web");
        const fresh = await placed(c, "fresh");
        return web.filter((w) => w === "edge1:true").length === 2 && fresh.includes("edge1:true");
      });
      expect((await ctl(c, "get", "nodes")).stdout).toMatch(/edge1\s+Ready\s/);
    });
  }, 90_000);
});
