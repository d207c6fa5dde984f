// Node names as Kubernetes allows them (DNS-1123 subdomains), end to end with real processes: the
// cloud runs as `cloud.kubeedge` (dayu-sedna's own sample) and an edge joins as `edge.site-a`. The
// edge becomes Ready, applies its plan, runs a worker pinned to it by name, answers on its mesh
// port, is reached through the forward proxies as `<service>.<node>.levee` in both directions (the
// tunnel's mutual TLS names each peer by its dotted certificate name), and `levee ctl logs` reads
// its worker's log over MQTT and HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  loggedStep,
  routesApplied,
  runLevee,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";

const CLOUD = "cloud.kubeedge";
const EDGE = "edge.site-a";
const PORT = 19_500;

let c: Cluster;

interface Who {
  node: string;
  service: string;
  index: number;
}

beforeAll(async () => {
  c = await startCluster({ edges: 1, cloudName: CLOUD, edgeNames: [EDGE] });
  const who = JSON.parse(httpWorkerService("who", [{ node: EDGE }, { node: CLOUD }]));
  who.spec.mesh = { port: PORT };
  await applyManifest(c, JSON.stringify(who));
  await waitUntil(
    "both workers ready and routes applied everywhere",
    async () => {
      const res = await c.cloud.api("/api/v1/workers?service=who");
      const { items } = (await res.json()) as { items: { ready: boolean }[] };
      return items.length === 2 && items.every((w) => w.ready) && (await routesApplied(c, "who"));
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await c?.destroy();
});

const step = loggedStep(() => c);

const edge = () => c.edges[0] as NonNullable<Cluster["edges"][number]>;

describe("dotted node names", () => {
  test(
    "the edge joined as edge.site-a is Ready and has applied its plan; the cloud is cloud.kubeedge",
    step(async () => {
      const res = await c.cloud.api(`/api/v1/nodes/${EDGE}`);
      expect(res.status).toBe(200);
      const node = (await res.json()) as {
        metadata: { name: string };
        status: { phase: string; plan: { desiredRevision: number; appliedRevision: number } };
      };
      expect(node.metadata.name).toBe(EDGE);
      expect(node.status.phase).toBe("Ready");
      expect(node.status.plan.appliedRevision).toBeGreaterThanOrEqual(1);
      expect(node.status.plan.appliedRevision).toBe(node.status.plan.desiredRevision);
      const list = (await (await c.cloud.api("/api/v1/nodes")).json()) as {
        items: { metadata: { name: string } }[];
      };
      expect(list.items.map((n) => n.metadata.name).sort()).toEqual([CLOUD, EDGE]);
    }),
    20_000,
  );

  test(
    "the worker pinned by node: edge.site-a runs there and the edge's mesh port answers",
    step(async () => {
      const res = await fetch(`http://${edge().address}:${PORT}/`);
      expect(res.status).toBe(200);
      expect((await res.json()) as Who).toMatchObject({ node: EDGE, service: "who", index: 0 });
    }),
    20_000,
  );

  test(
    "the forward proxies reach <service>.<dotted node>.levee across the tunnel, both ways",
    step(async () => {
      const fromCloud = await fetch(`http://who.${EDGE}.levee/`, { proxy: `http://${c.cloud.address}:7403` });
      expect(fromCloud.status).toBe(200);
      expect(((await fromCloud.json()) as Who).node).toBe(EDGE);
      const fromEdge = await fetch(`http://who.${CLOUD}.levee/`, { proxy: `http://${edge().address}:7403` });
      expect(fromEdge.status).toBe(200);
      expect(((await fromEdge.json()) as Who).node).toBe(CLOUD);
      const unknown = await fetch(`http://who.edge.site-b.levee/`, {
        proxy: `http://${edge().address}:7403`,
      });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("x-levee-error")).toBe("unknown node edge.site-b");
    }),
    20_000,
  );

  test(
    "levee ctl logs --node edge.site-a reads the worker's log from the edge",
    step(async () => {
      const serverArgs = ["--server", c.cloud.apiUrl, "--data-dir", c.cloud.dataDir];
      await waitUntil("the worker's start line in its log", async () => {
        const out = await runLevee(["ctl", "logs", "who", "--node", EDGE, ...serverArgs]);
        return out.code === 0 && out.stdout.includes("worker who/0 listening on");
      });
      const bad = await runLevee(["ctl", "logs", "who", "--node", "edge..site-a", ...serverArgs]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--node");
    }),
    20_000,
  );
});
