// The mesh on two threads with real agents (a cloud and one edge started with --mesh-threads 2, the
// fast path off so that every connection takes the userspace path): connections to one service port
// are accepted by both threads (levee_mesh_thread_connections_total by thread) and every answer is
// right; requests served by the second thread are counted in /metrics at once (a scrape collects
// the threads' counters); the workers turning unready gives a 503 from every thread within 1 s; the
// agent's stop closes every thread's listener (the port then refuses connections).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, type Cluster, REPO_ROOT, routesApplied, startCluster, waitUntil } from "../harness/cluster.ts";
import { sampleSum } from "../harness/prometheus-text.ts";
import { rawRequest } from "../harness/raw-request.ts";
import { agentWorkers } from "../harness/workers.ts";

const PORT = 19420;
let c: Cluster;

const SERVICE = JSON.stringify({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "who" },
  spec: {
    template: {
      command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
      port: "auto",
      health: { http: "/health", interval: "200ms", failureThreshold: 1 },
    },
    workers: [{ node: "edge1", replicas: 2 }],
    mesh: { port: PORT, protocol: "http" },
  },
});

const edge = () => c.edges[0] as NonNullable<(typeof c.edges)[0]>;

/** One request on its own connection (so that the kernel picks a thread for each): status and body. */
async function onNewConnection(path = "/"): Promise<{ status: number; body: string }> {
  const raw = await rawRequest(
    edge().address,
    PORT,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  return { status, body: raw.slice(raw.indexOf("\r\n\r\n") + 4) };
}

async function metrics(): Promise<string> {
  return (await fetch(`${edge().agentUrl}/metrics`)).text();
}

beforeAll(async () => {
  c = await startCluster({ edges: 1, edgeArgs: ["--mesh-threads", "2", "--mesh-fast-path", "off"] });
  const res = await c.cloud.api("/api/v1/apply", { method: "POST", body: SERVICE });
  expect(res.status).toBe(200);
  await waitUntil(
    "2 ready workers and the route applied",
    async () => {
      const workers = await agentWorkers(edge().agentUrl, "who");
      return workers.length === 2 && workers.every((w) => w.ready) && (await routesApplied(c, "who"));
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await c?.destroy();
});

describe("mesh threads", () => {
  test("connections to one service port are served by both threads, every answer right and counted", async () => {
    const before = await metrics();
    const requestsBefore = sampleSum(before, "levee_mesh_requests_total", ['service="who"', 'outcome="ok"']);
    const n = 200;
    const answers = [];
    for (let batch = 0; batch < n / 20; batch++) {
      answers.push(...(await Promise.all(Array.from({ length: 20 }, () => onNewConnection()))));
    }
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      const who = JSON.parse(answer.body) as { node: string; service: string; index: number };
      expect(who.node).toBe("edge1");
      expect(who.service).toBe("who");
      expect([0, 1]).toContain(who.index);
    }
    const after = await metrics();
    const main = sampleSum(after, "levee_mesh_thread_connections_total", ['thread="0"']);
    const second = sampleSum(after, "levee_mesh_thread_connections_total", ['thread="1"']);
    expect(main).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(0);
    expect(main + second).toBeGreaterThanOrEqual(n);
    // Every request is counted, those the second thread served too, in the scrape right after.
    expect(
      sampleSum(after, "levee_mesh_requests_total", ['service="who"', 'outcome="ok"']) - requestsBefore,
    ).toBe(n);
    expect(
      sampleSum(after, "levee_mesh_upstream_latency_seconds_count", ['service="who"']),
    ).toBeGreaterThanOrEqual(n);
  }, 60_000);

  test("the workers turn unready: every thread answers 503 within 1 s", async () => {
    const workers = await agentWorkers(edge().agentUrl, "who");
    for (const w of workers) expect((await fetch(`http://127.0.0.1:${w.port}/sick`)).status).toBe(200);
    await waitUntil(
      "the agent sees both workers unready",
      async () => (await agentWorkers(edge().agentUrl, "who")).every((w) => !w.ready),
      10_000,
    );
    const seen = Date.now();
    const before = await metrics();
    // From 1 s after the agent saw it, no connection (whichever thread takes it) reaches a worker.
    let answers: { status: number; body: string }[] = [];
    while (Date.now() - seen < 1000) {
      answers = await Promise.all(Array.from({ length: 20 }, () => onNewConnection()));
      if (answers.every((a) => a.status === 503)) break;
      await Bun.sleep(50);
    }
    expect(Date.now() - seen).toBeLessThan(1500);
    answers = await Promise.all(Array.from({ length: 40 }, () => onNewConnection()));
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.body).toContain("who");
    }
    const after = await metrics();
    for (const thread of ['thread="0"', 'thread="1"']) {
      expect(sampleSum(after, "levee_mesh_thread_connections_total", [thread])).toBeGreaterThan(
        sampleSum(before, "levee_mesh_thread_connections_total", [thread]),
      );
    }
  }, 30_000);

  test("the agent's stop closes every thread's listener", async () => {
    await edge().stop();
    const refused = await Promise.all(
      Array.from({ length: 20 }, () =>
        onNewConnection().then(
          () => false,
          () => true,
        ),
      ),
    );
    expect(refused.every(Boolean)).toBe(true);
  }, 30_000);
});
