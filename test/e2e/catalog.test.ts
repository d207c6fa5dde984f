// The mesh catalog end to end: derived by the cloud, published retained over MQTT, stored by every
// node in SQLite and served by its discovery API (/v1/catalog, /v1/nodes, /v1/services/NAME),
// kept current as readiness changes, and still served by an edge restarted while the cloud is down.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, type Cluster, REPO_ROOT, waitUntil, withCluster } from "../harness/cluster.ts";

interface CatalogView {
  node: string;
  revision: number;
  nodes: { name: string; role: string; addresses: string[]; state: string; tunnelPort: number }[];
  services: {
    name: string;
    port: number;
    workers: { node: string; index: number; ready: boolean; port?: number }[];
  }[];
}

async function catalogOf(agentUrl: string): Promise<CatalogView | undefined> {
  const res = await fetch(`${agentUrl}/v1/catalog`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as CatalogView) : undefined;
}

test("every node gets the catalog, sees readiness change, and keeps it without the cloud", async () => {
  await withCluster({ edges: 2 }, async (c: Cluster) => {
    const [edge1, edge2] = c.edges as [Cluster["edges"][0], Cluster["edges"][0]];
    const res = await c.cloud.api("/api/v1/apply", {
      method: "POST",
      body: JSON.stringify({
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: {
          template: {
            command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
            port: "auto",
            health: { http: "/health", interval: "300ms", failureThreshold: 1 },
          },
          workers: [{ node: "edge1", replicas: 2 }],
          mesh: { port: 19100 },
        },
      }),
    });
    expect(res.status).toBe(200);
    let seen: CatalogView | undefined;
    await waitUntil("edge2 to see both workers of web ready on edge1", async () => {
      seen = await catalogOf(edge2.agentUrl);
      const web = seen?.services.find((s) => s.name === "web");
      return web?.workers.filter((w) => w.node === "edge1" && w.ready).length === 2;
    });
    expect(seen?.node).toBe("edge2");
    // The cloud (the relay) and the nodes that run mesh workers; edge2 runs none.
    expect(seen?.nodes.map((n) => [n.name, n.role, n.state])).toEqual([
      ["cloud", "cloud", "Ready"],
      ["edge1", "edge", "Ready"],
    ]);
    expect(seen?.nodes.find((n) => n.name === "edge1")?.addresses).toContain(edge1.address);
    // On edge1 its own workers come with their ports (from its supervisor).
    const own = (await (
      await fetch(`${edge1.agentUrl}/v1/services/web`)
    ).json()) as CatalogView["services"][0];
    expect(own.port).toBe(19100);
    expect(own.workers.every((w) => typeof w.port === "number")).toBe(true);
    expect((await fetch(`${edge1.agentUrl}/v1/services/nope`)).status).toBe(404);
    const nodes = (await (await fetch(`${edge2.agentUrl}/v1/nodes`)).json()) as { items: unknown[] };
    expect(nodes.items).toHaveLength(2);

    // Readiness flips reach the other nodes.
    const port = own.workers[0]?.port as number;
    await fetch(`http://127.0.0.1:${port}/sick`);
    await waitUntil("edge2 to see one worker not ready", async () => {
      const web = (await catalogOf(edge2.agentUrl))?.services.find((s) => s.name === "web");
      return web?.workers.filter((w) => w.ready).length === 1;
    });

    // Without the cloud: an edge restarted still serves the catalog from SQLite.
    const revision = (await catalogOf(edge2.agentUrl))?.revision;
    await c.cloud.stop();
    await edge2.stop();
    await edge2.restart({ waitReady: false });
    await waitUntil("edge2's API", async () => (await catalogOf(edge2.agentUrl)) !== undefined);
    expect((await catalogOf(edge2.agentUrl))?.revision).toBe(revision as number);
  });
}, 60_000);
