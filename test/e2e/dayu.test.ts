// A JointMultiEdgeService on real agents (a cloud and 2 edges), its image run as a process through an
// ImageMap: every worker is reached at <its node's address>:<nodePort>, two components on one node
// that both say GUNICORN_PORT=9000 both run (the agent moves them and GUNICORN_PORT follows), LC_SERVER
// is the local agent on the edges, the discovery API shows where it runs, and deleting the object
// stops its workers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, type Cluster, REPO_ROOT, routesApplied, startCluster, waitUntil } from "../harness/cluster.ts";

const PORT = 19410;
let c: Cluster;
const addr = (name: string) =>
  name === "cloud" ? c.cloud.address : (c.edges.find((e) => e.name === name)?.address as string);

const imageMap = {
  apiVersion: "levee/v1",
  kind: "ImageMap",
  metadata: { name: "test" },
  spec: {
    images: [
      { imagePrefix: "levee-test/who:", command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")] },
    ],
  },
};

function pod(node: string) {
  return {
    logLevel: { level: "DEBUG" },
    template: {
      spec: {
        nodeName: node,
        serviceAccountName: "worker-admin",
        containers: [
          {
            name: "who",
            image: "levee-test/who:1",
            env: [
              { name: "GUNICORN_PORT", value: "9000" },
              { name: "LC_SERVER", value: "http://stale:9100" },
            ],
            ports: [{ containerPort: 9000 }],
            readinessProbe: { httpGet: { path: "/health", port: 9000 }, periodSeconds: 1 },
          },
        ],
      },
    },
  };
}

function jmes(name: string, nodes: string[], cloud: boolean, nodePort: number) {
  return {
    apiVersion: "sedna.io/v1alpha1",
    kind: "JointMultiEdgeService",
    metadata: { name, namespace: "dayu" },
    spec: {
      serviceConfig: { pos: "both", port: 9000, targetPort: 9000, nodePort },
      edgeWorker: nodes.map(pod),
      ...(cloud ? { cloudWorker: pod("cloud") } : {}),
    },
  };
}

async function workers(service: string): Promise<{ node: string; ready: boolean }[]> {
  const res = await c.cloud.api(`/api/v1/workers?service=${service}&namespace=dayu`);
  return ((await res.json()) as { items: { node: string; ready: boolean }[] }).items;
}

beforeAll(async () => {
  c = await startCluster({ edges: 2 });
  const res = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    body: JSON.stringify([
      imageMap,
      jmes("who", ["edge1", "edge2"], true, PORT),
      jmes("two", ["edge1"], false, PORT + 1),
    ]),
  });
  expect(res.status).toBe(200);
  await waitUntil(
    "the workers of who and two ready, their routes applied",
    async () => {
      const all = [...(await workers("who")), ...(await workers("two"))];
      if (all.length !== 4 || !all.every((w) => w.ready)) return false;
      return routesApplied(c, "who.dayu");
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await c?.destroy();
});

type Env = Record<string, string>;
const envAt = async (node: string, port = PORT) =>
  (await (await fetch(`http://${addr(node)}:${port}/env`)).json()) as Env;

test("each node's address leads to that node's worker, with Sedna's env", async () => {
  for (const node of ["edge1", "edge2", "cloud"]) {
    const env = await envAt(node);
    expect(env).toMatchObject({
      NODE_NAME: node,
      SERVICE_NAME: "who",
      NAMESPACE: "dayu",
      LOG_LEVEL: "DEBUG",
    });
    expect(env.DATA_PATH_PREFIX).toBe("/home/data");
    expect(env.VOLUME_NUM).toBe("0");
  }
});

test("GUNICORN_PORT follows the port the agent gave; two components on one node both run", async () => {
  const who = await envAt("edge1");
  const two = await envAt("edge1", PORT + 1);
  expect(who.GUNICORN_PORT).toBe(who.PORT);
  expect(two.GUNICORN_PORT).toBe(two.PORT);
  expect(who.PORT).not.toBe(two.PORT);
  expect(two.SERVICE_NAME).toBe("two");
});

test("LC_SERVER is the local agent on the edges; the cloud worker keeps its own", async () => {
  const edge = await envAt("edge2");
  expect(edge.LC_SERVER).toBe(edge.LEVEE_AGENT_URL);
  expect(edge.LC_SERVER).toBe(c.edges.find((e) => e.name === "edge2")?.agentUrl);
  expect((await envAt("cloud")).LC_SERVER).toBe("http://stale:9100");
});

test("the discovery API says where it runs, on which port, and that it is ready", async () => {
  const edge1 = c.edges.find((e) => e.name === "edge1");
  let seen: string[] = [];
  // Other nodes' readiness comes with the catalog the cloud publishes: it follows within moments.
  await waitUntil(
    "edge1's discovery API shows who ready on cloud, edge1 and edge2",
    async () => {
      const res = await fetch(`${edge1?.agentUrl}/v1/services/who.dayu`);
      const body = (await res.json()) as { port: number; workers: { node: string; ready: boolean }[] };
      expect(body.port).toBe(PORT);
      seen = body.workers.map((w) => `${w.node} ${w.ready}`).sort();
      return seen.every((w) => w.endsWith("true"));
    },
    15_000,
  );
  expect(seen).toEqual(["cloud true", "edge1 true", "edge2 true"]);
});

test("deleting the JointMultiEdgeService stops exactly its workers", async () => {
  const res = await c.cloud.api("/api/v1/jointmultiedgeservices/who?namespace=dayu", { method: "DELETE" });
  expect(res.status).toBe(200);
  await waitUntil("who's workers gone", async () => (await workers("who")).length === 0, 15_000);
  await waitUntil(
    "edge1's port for who closed",
    async () => {
      try {
        await fetch(`http://${addr("edge1")}:${PORT}/env`);
        return false;
      } catch {
        return true;
      }
    },
    15_000,
  );
  expect((await envAt("edge1", PORT + 1)).SERVICE_NAME).toBe("two");
});
