// A worker that calls the Kubernetes API as Dayu's components do: `config.load_incluster_config()`
// in an exec worker (template kubeApi) on an edge, the official Python client (Debian
// python3-kubernetes, /usr/bin/python3). Its agent answers reads from the node's own state, also
// while the cloud is stopped; writes go to the cloud, and only with a Grant; its token is its own,
// refused by other agents and once the worker stopped.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Cluster, startCluster, waitUntil } from "../harness/cluster.ts";
import { DAYU_CALLS, HAVE_PYTHON_CLIENT, PYTHON, WHO_IMAGE_MAP } from "../harness/kube.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read by path in assertions
type Any = any;

let c: Cluster;

const reader = (node: string) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "reader", namespace: "dayu" },
  spec: {
    template: {
      command: [PYTHON, DAYU_CALLS, "serve"],
      port: "auto",
      health: { http: "/health", interval: "1s", timeout: "1s" },
      kubeApi: { serviceAccount: "reader" },
    },
    workers: [{ node }],
  },
});

const processor = (namespace: string, node: string, name = `processor-face-detection-${node}`) => ({
  apiVersion: "sedna.io/v1alpha1",
  kind: "JointMultiEdgeService",
  metadata: { name, namespace },
  spec: {
    serviceConfig: { pos: "edge", port: 9000, targetPort: 9000 },
    edgeWorker: [
      {
        template: {
          spec: {
            nodeName: node,
            containers: [
              {
                name: "processor",
                image: "levee-test/who:1",
                env: [{ name: "GUNICORN_PORT", value: "9000" }],
              },
            ],
          },
        },
      },
    ],
  },
});

let readerPort = 0;

/** One of Dayu's calls, made by the reader worker on edge1 (GET /?action=...). */
async function call(action: string, ...args: string[]): Promise<Any> {
  const query = new URLSearchParams([["action", action], ...args.map((a) => ["arg", a] as [string, string])]);
  const res = await fetch(`http://127.0.0.1:${readerPort}/run?${query}`);
  return res.json();
}

function edge(name: string) {
  const agent = c.edges.find((e) => e.name === name);
  if (!agent) throw new Error(`no ${name}`);
  return agent;
}

const tokenPath = () => join(edge("edge1").dataDir, "workers", "reader.dayu", "0", "serviceaccount", "token");

/** A GET on an agent's Kubernetes listener (trusting that agent's own CA), with a token or none. */
async function kubeGet(agent: string, path: string, token?: string): Promise<{ status: number; body: Any }> {
  const node = c.all().find((a) => a.name === agent);
  if (!node) throw new Error(`no ${agent}`);
  const ca = readFileSync(join(node.dataDir, "kube-api", "ca.crt"), "utf8");
  const res = await fetch(`https://${node.address}:6443${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    tls: { ca },
  } as RequestInit);
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  if (!HAVE_PYTHON_CLIENT) return;
  c = await startCluster({ edges: 2 });
  const res = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    body: JSON.stringify([
      WHO_IMAGE_MAP,
      reader("edge1"),
      processor("dayu", "edge1"),
      processor("other", "edge2"),
    ]),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  await waitUntil(
    "the reader on edge1 ready",
    async () => {
      const workers = (await (
        await fetch(`${edge("edge1").agentUrl}/v1/workers?service=reader.dayu`)
      ).json()) as {
        items: { ready: boolean; port: number | null }[];
      };
      const w = workers.items[0];
      if (!w?.ready || !w.port) return false;
      readerPort = w.port;
      return true;
    },
    30_000,
  );
  // The view reaches edge1 with the catalog.
  await waitUntil(
    "edge1's view has the processor",
    async () => (await call("pods", "dayu")).result?.length === 1,
    15_000,
  );
}, 90_000);

afterAll(async () => {
  await c?.destroy();
});

describe.skipIf(!HAVE_PYTHON_CLIENT)("a worker's Kubernetes API", () => {
  test("load_incluster_config() works: nodes, pods, NodePorts, the API's own endpoint", async () => {
    const nodes = (await call("nodes")).result;
    expect(nodes.cloud.role).toBe("cloud");
    expect(nodes.edge1).toMatchObject({ role: "edge", ip: edge("edge1").address });
    const pods = (await call("pods", "dayu")).result as Any[];
    expect(pods[0]).toMatchObject({ node: "edge1", service: "face-detection" });
    expect(Object.keys((await call("ports", "dayu")).result)).toEqual([
      "processor-face-detection-edge1-edge",
    ]);
    // The worker's API is its own node's agent.
    expect((await call("endpoint")).result).toEqual({ ip: edge("edge1").address, port: 6443 });
  });

  test("pod metrics, measured by the agent", async () => {
    await waitUntil(
      "metrics of the processor",
      async () => Object.keys((await call("metrics", "dayu")).result ?? {}).length === 1,
      30_000,
    );
    const [m] = Object.values((await call("metrics", "dayu")).result) as {
      cpu_cores: number;
      memory_bytes: number;
    }[];
    expect(m?.memory_bytes).toBeGreaterThan(1024 * 1024);
    expect(m?.cpu_cores).toBeGreaterThanOrEqual(0);
  }, 40_000);

  test("by default only its own namespace, and only reads", async () => {
    expect(await call("pods", "other")).toMatchObject({ ok: false, status: 403, reason: "Forbidden" });
    expect((await call("pods", "other")).message).toMatch(/system:serviceaccount:dayu:reader/);
    expect(await call("all-pods")).toMatchObject({ ok: false, status: 403 });
    const create = await call("apply", JSON.stringify(processor("dayu", "edge2", "processor-x-edge2")));
    expect(create).toMatchObject({ ok: false, status: 403, reason: "Forbidden" });
    expect(create.message).toMatch(/cannot create resource "jointmultiedgeservices"/);
  });

  test("a Grant lets it create and delete in its namespace, not in another", async () => {
    const grant = {
      apiVersion: "levee/v1",
      kind: "Grant",
      metadata: { name: "reader-writes", namespace: "dayu" },
      spec: {
        serviceAccount: "reader",
        rules: [{ verbs: ["*"], resources: ["jointmultiedgeservices", "services", "deployments", "pods"] }],
      },
    };
    expect(
      (await c.cloud.api("/api/v1/apply", { method: "POST", body: JSON.stringify([grant]) })).status,
    ).toBe(200);
    const doc = processor("dayu", "edge2", "processor-x-edge2");
    expect(await call("apply", JSON.stringify(doc))).toEqual({ ok: true, result: "processor-x-edge2" });
    expect(await call("delete", JSON.stringify(doc))).toEqual({ ok: true, result: true });
    expect(
      await call("apply", JSON.stringify(processor("other", "edge2", "processor-y-edge2"))),
    ).toMatchObject({
      ok: false,
      status: 403,
    });
  }, 30_000);

  test("no token, a wrong one, another node's agent: 401", async () => {
    const token = readFileSync(tokenPath(), "utf8");
    expect((await kubeGet("edge1", "/api/v1/nodes", token)).status).toBe(200);
    expect((await kubeGet("edge1", "/api/v1/nodes")).body).toMatchObject({
      reason: "Unauthorized",
      code: 401,
    });
    expect((await kubeGet("edge1", "/api/v1/nodes", "lvwk_wrong")).status).toBe(401);
    expect((await kubeGet("edge2", "/api/v1/nodes", token)).status).toBe(401);
  });

  test("with the cloud stopped, the reads still answer; writes say the cloud is unreachable", async () => {
    await c.cloud.stop();
    try {
      expect((await call("pods", "dayu")).result).toHaveLength(1);
      expect(Object.keys((await call("nodes")).result).sort()).toEqual(["cloud", "edge1", "edge2"]);
      expect((await call("ports", "dayu")).ok).toBe(true);
      const write = await call("apply", JSON.stringify(processor("dayu", "edge2", "processor-z-edge2")));
      expect(write).toMatchObject({ ok: false, status: 503 });
      expect(write.message).toMatch(/the cloud is unreachable/);
    } finally {
      await c.cloud.restart();
    }
  }, 60_000);

  test("a stopped worker's token is refused", async () => {
    const token = readFileSync(tokenPath(), "utf8");
    const res = await c.cloud.api("/api/v1/apply", {
      method: "POST",
      body: JSON.stringify([
        { ...reader("edge1"), spec: { ...reader("edge1").spec, workers: [{ node: "edge2" }] } },
      ]),
    });
    expect(res.status).toBe(200);
    await waitUntil(
      "the reader gone from edge1",
      async () => (await kubeGet("edge1", "/api/v1/nodes", token)).status === 401,
      20_000,
    );
  }, 30_000);
});
