// The mesh with real agents: a cloud and 3 edges, a service with 2 workers on
// each edge and one on the cloud. Requests to edge2's service port are served only by edge2's
// workers, evenly; no ready worker there → 503 naming service and node, or the cloud's worker with
// fallback: cloud; the forward proxy on edge1 reaches edge3 by name; GET with a body, an 8 MB
// multipart upload and a WebSocket echo arrive byte-exact on every path; with the cloud stopped,
// node-targeted routing keeps working from the catalog in SQLite.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  BUN,
  type Cluster,
  REPO_ROOT,
  routesApplied,
  runLevee,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";
import { rawRequest } from "../harness/raw-request.ts";

const PORT = 19300;
let c: Cluster;
const addr = (name: string) =>
  name === "cloud" ? c.cloud.address : c.edges.find((e) => e.name === name)?.address;

function manifest(fallback: string): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "who" },
    spec: {
      template: {
        command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
        port: "auto",
        health: { http: "/health", interval: "300ms", failureThreshold: 1 },
        meshProxy: true,
      },
      workers: [
        { node: "edge1", replicas: 2 },
        { node: "edge2", replicas: 2 },
        { node: "edge3", replicas: 2 },
        { node: "cloud", replicas: 1 },
      ],
      mesh: { port: PORT, protocol: "http", fallback },
    },
  });
}

/** A raw-socket echo worker on edge1 (Bun.serve would drop a GET body). */
const RAW = JSON.stringify({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "raw" },
  spec: {
    template: {
      command: [BUN, join(REPO_ROOT, "test/fixtures/raw-echo-worker.ts")],
      port: "auto",
      health: { tcp: true, interval: "300ms" },
    },
    workers: [{ node: "edge1" }],
    mesh: {
      port: PORT + 1,
      protocol: "http",
      upstreams: [{ service: "tcp", node: "edge3", localPort: PORT + 3 }],
    },
  },
});

/** The same raw worker on edge3 as a TCP service: balanced per connection. */
const TCP = JSON.stringify({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "tcp" },
  spec: {
    template: {
      command: [BUN, join(REPO_ROOT, "test/fixtures/raw-echo-worker.ts")],
      port: "auto",
      health: { tcp: true, interval: "300ms" },
    },
    workers: [{ node: "edge3", replicas: 2 }],
    mesh: { port: PORT + 2, protocol: "tcp" },
  },
});

async function apply(body: string): Promise<void> {
  const res = await c.cloud.api("/api/v1/apply", { method: "POST", body });
  expect(res.status).toBe(200);
}

interface Who {
  node: string;
  index: number;
}

async function ask(node: string, path = "/"): Promise<Response> {
  return fetch(`http://${addr(node)}:${PORT}${path}`);
}

beforeAll(async () => {
  c = await startCluster({ edges: 3 });
  await apply(manifest("none"));
  await apply(RAW);
  await apply(TCP);
  await waitUntil(
    "7 ready workers and routes applied everywhere",
    async () => {
      const res = await c.cloud.api("/api/v1/workers?service=who");
      const { items } = (await res.json()) as { items: { ready: boolean }[] };
      if (items.length !== 7 || !items.every((w) => w.ready)) return false;
      const raw = (await (await c.cloud.api("/api/v1/workers?service=raw")).json()) as {
        items: { ready: boolean }[];
      };
      if (!raw.items[0]?.ready) return false;
      return routesApplied(c, "who");
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await c?.destroy();
});

describe("mesh", () => {
  test("3,000 requests to edge2's port are served by edge2's two workers only, within ±10 %", async () => {
    const counts = new Map<string, number>();
    for (let batch = 0; batch < 30; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, async () => (await (await ask("edge2")).json()) as Who),
      );
      for (const a of answers)
        counts.set(`${a.node}#${a.index}`, (counts.get(`${a.node}#${a.index}`) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["edge2#0", "edge2#1"]);
    for (const n of counts.values()) expect(Math.abs(n - 1500)).toBeLessThanOrEqual(150);
  }, 60_000);

  test("bodies byte-exact: GET with a body, an 8 MB multipart upload, a WebSocket echo", async () => {
    // fetch() refuses a GET with a body; a raw request it is.
    const got = await rawRequest(
      addr("edge1") as string,
      PORT + 1,
      "GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\na GET body",
    );
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got.toLowerCase()).toContain("x-method: get");
    expect(got.endsWith("\r\n\r\na GET body")).toBe(true);

    const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 31 + 7) % 256);
    const form = new FormData();
    form.append("video", new Blob([big]), "chunk.bin");
    const request = new Request("http://x/", { method: "POST", body: form });
    const raw = new Uint8Array(await request.arrayBuffer());
    const contentType = request.headers.get("content-type") as string;
    const expected = new Bun.CryptoHasher("sha256").update(raw).digest("hex");
    const up = await fetch(`http://${addr("edge3")}:${PORT}/echo`, {
      method: "POST",
      body: raw,
      headers: { "content-type": contentType },
    });
    expect(up.headers.get("x-worker")).toStartWith("edge3/");
    expect(up.headers.get("x-sha256")).toBe(expected);
    expect(up.headers.get("x-forwarded-for-seen")).not.toBe("");
    expect(Buffer.compare(new Uint8Array(await up.arrayBuffer()), raw)).toBe(0);

    const ws = new WebSocket(`ws://${addr("edge2")}:${PORT}/ws`);
    const message = "ping ✓ ".repeat(1000);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send(message);
      ws.onmessage = (event) => resolve(String(event.data));
      ws.onerror = () => reject(new Error("websocket error"));
    });
    ws.close();
    expect(echoed).toBe(message);
  }, 60_000);

  test("the forward proxy on edge1 reaches edge3 by node name, address and .levee name", async () => {
    const proxy = `http://${addr("edge1")}:7403`;
    for (const url of [
      `http://edge3:${PORT}/`,
      `http://${addr("edge3")}:${PORT}/`,
      "http://who.edge3.levee/",
    ]) {
      const res = await fetch(url, { proxy });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Who).node).toBe("edge3");
    }
    const viaHeader = await fetch(`http://${addr("edge1")}:7403/`, {
      headers: { "x-levee-node": "edge3", host: `anything:${PORT}` },
    });
    expect(((await viaHeader.json()) as Who).node).toBe("edge3");
    // 8 MB across nodes: edge1's proxy → the tunnel → edge2's worker, and back.
    const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 13 + 5) % 256);
    const up = await fetch(`http://edge2:${PORT}/echo`, { proxy, method: "POST", body: big });
    expect(up.headers.get("x-worker")).toStartWith("edge2/");
    expect(up.headers.get("x-sha256")).toBe(new Bun.CryptoHasher("sha256").update(big).digest("hex"));
    expect(Buffer.compare(new Uint8Array(await up.arrayBuffer()), big)).toBe(0);
    // GET with a body across nodes (raw: fetch refuses it), through edge2's proxy to edge1's raw worker.
    const got = await rawRequest(
      addr("edge2") as string,
      7403,
      `GET http://edge1:${PORT + 1}/echo HTTP/1.1\r\nHost: edge1:${PORT + 1}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody`,
    );
    expect(got).toContain("x-worker: edge1/raw#0");
    expect(got.endsWith("\r\n\r\nbody")).toBe(true);
  }, 30_000);

  test("no ready worker on edge2 → 503 naming service and node; fallback cloud → the cloud's worker", async () => {
    const mine = (await (await fetch(`${c.edges[1]?.agentUrl}/v1/workers?service=who`)).json()) as {
      items: { port: number }[];
    };
    for (const w of mine.items) await fetch(`http://127.0.0.1:${w.port}/sick`);
    await waitUntil("edge2's port to refuse", async () => (await ask("edge2")).status === 503);
    const refused = await ask("edge2");
    expect(refused.headers.get("x-levee-error")).toContain("who");
    expect(refused.headers.get("x-levee-error")).toContain("edge2");
    expect(await refused.json()).toMatchObject({ service: "who", node: "edge2" });

    await apply(manifest("cloud"));
    await waitUntil("the cloud's worker to answer for edge2", async () => {
      const res = await ask("edge2");
      return res.status === 200 && ((await res.json()) as Who).node === "cloud";
    });
  }, 30_000);

  test("TCP service ports and local upstream ports; route status at the cloud; metrics", async () => {
    const request = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    const direct = await rawRequest(addr("edge3") as string, PORT + 2, request);
    expect(direct).toContain("x-worker: edge3/tcp#");
    expect(direct.endsWith("hello")).toBe(true);
    // edge1 runs `raw`, which declares an upstream: edge1's loopback PORT+3 → tcp on edge3.
    const upstream = await rawRequest(addr("edge1") as string, PORT + 3, request);
    expect(upstream).toContain("x-worker: edge3/tcp#");

    let table = "";
    await waitUntil("edge1's routes at the cloud", async () => {
      table = (await runLevee(["ctl", "get", "routes", "--node", "edge1", "--data-dir", c.cloud.dataDir]))
        .stdout;
      return (
        /edge1\s+raw\s+upstream\s+19303\s+applied/.test(table) &&
        /edge1\s+who\s+service-port\s+19300\s+applied/.test(table)
      );
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${table}`);
    });
    const metrics = await (await fetch(`${c.edges[1]?.agentUrl}/metrics`)).text();
    expect(metrics).toContain('levee_mesh_requests_total{service="who",node="edge2"');
  }, 30_000);

  test("with the cloud stopped, node-targeted routing keeps working from the catalog in SQLite", async () => {
    await c.cloud.stop();
    const res = await ask("edge1");
    expect(((await res.json()) as Who).node).toBe("edge1");
    const proxied = await fetch(`http://edge3:${PORT}/`, { proxy: `http://${addr("edge1")}:7403` });
    expect(((await proxied.json()) as Who).node).toBe("edge3");
  }, 30_000);
});
