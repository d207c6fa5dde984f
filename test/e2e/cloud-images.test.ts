// Container images as artifacts, end to end with a real dockerd: a ~200 MB busybox-based image
// (the test image plus a 200 MB random layer, `docker commit`) is pushed once with `levee ctl image
// push` from the local Docker and removed from Docker; two edges (loopback agents) fetch it from
// the cloud, load it into Docker and start the worker, with no registry anywhere.
//
// Both edges here share ONE dockerd, so the order is staged to make both really fetch and load:
//   1. the Service runs on edge1 only. edge1's first download is cut at 60 MB by a proxy between
//      the edges and the cloud (the edges joined through it, so it carries their artifact
//      downloads): the next request asks for the rest with a Range header, and the bytes fetched
//      in total stay below 1.2 × the tarball. The worker's status said "pulling image from the
//      cloud: N of M MB" meanwhile.
//   2. the Service is deleted, its container removed, and the image removed from Docker again;
//      then it runs on edge2 only, two workers: edge2 fetches the whole tarball once and loads it
//      (the two workers share the download and the load).
//   3. the Service runs on both: edge1 finds the image already in Docker (same ID; loaded by
//      edge2) and downloads nothing more. Both workers serve.
// The image is removed from Docker after the test (vfs storage is slow and large).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  allocateSubnet,
  applyManifest,
  type Cluster,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { dockerSkipReason, ensureDocker, removeLeveeContainers, type TestDocker } from "../harness/docker.ts";
import { type FaultProxy, startFaultProxy } from "../harness/fault-proxy.ts";

const skip = await dockerSkipReason();
if (skip) process.stderr.write(`skipping cloud images: ${skip}\n`);

const BLOB = 200_000_000;
const CUT = 60_000_000;
const TAG = `repo:5000/levee-test/big:${process.pid}-${Date.now()}`;

interface AgentWorker {
  service: string;
  index: number;
  ready: boolean;
  port: number | null;
  phase: string;
  message: string;
}

function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

const service = (nodes: string[], replicas = 1) =>
  JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "big" },
    spec: {
      template: {
        driver: "container",
        image: TAG,
        command: ["sh", "-c", 'echo ok > /tmp/ok; exec httpd -f -p "$PORT" -h /tmp'],
        port: "auto",
        health: { http: "/ok", interval: "1s" },
        stopTimeout: "1s",
      },
      workers: nodes.map((node) => ({ node, replicas })),
    },
  });

describe.skipIf(skip !== undefined)("container images from the cloud", () => {
  let docker: TestDocker;
  const roots: string[] = [];
  beforeAll(async () => {
    docker = await ensureDocker();
    const name = `levee-big-${process.pid}`;
    const run = await docker.cli([
      "run",
      "--name",
      name,
      "--network",
      "none",
      docker.image,
      "sh",
      "-c",
      `head -c ${BLOB} /dev/urandom > /blob`,
    ]);
    if (run.code !== 0) throw new Error(`docker run: ${run.stderr}`);
    const commit = await docker.cli(["commit", name, TAG]);
    await docker.cli(["rm", "-f", name]);
    if (commit.code !== 0) throw new Error(`docker commit: ${commit.stderr}`);
  }, 300_000);
  afterAll(async () => {
    await removeLeveeContainers(docker.client, (agent) => roots.some((r) => agent.startsWith(r)));
    await docker.cli(["rmi", "-f", TAG]);
  }, 120_000);

  async function workersOn(edge: Cluster["edges"][0]): Promise<AgentWorker[]> {
    const res = await fetch(`${edge.agentUrl}/v1/workers?service=big`);
    return ((await res.json()) as { items: AgentWorker[] }).items;
  }

  async function readyOn(edge: Cluster["edges"][0], messages: Set<string>, count = 1): Promise<AgentWorker> {
    let last: AgentWorker[] = [];
    await waitUntil(
      `${count} ready worker(s) of big on ${edge.name}`,
      async () => {
        last = await workersOn(edge).catch(() => []);
        for (const w of last) messages.add(w.message);
        return last.filter((w) => w.ready).length >= count;
      },
      240_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    return last.find((w) => w.ready) as AgentWorker;
  }

  const artifactGets = (proxy: FaultProxy) =>
    proxy.requests.filter((r) => r.method === "GET" && r.path.startsWith("/api/v1/artifacts/"));

  test("200 MB pushed once, fetched by two edges (one resumed), loaded, the worker starts", async () => {
    const subnet = allocateSubnet();
    let cutDone = false;
    const proxy = startFaultProxy({
      upstream: `http://${subnet}.10:7400`,
      hostname: `${subnet}.20`,
      faults: (_i, req) => {
        if (cutDone || !new URL(req.url).pathname.startsWith("/api/v1/artifacts/")) return undefined;
        cutDone = true;
        return { cutAfter: CUT };
      },
    });
    try {
      await withCluster(
        {
          subnet,
          edges: 2,
          edgeArgs: ["--docker-socket", docker.socket, "--cloud", proxy.url],
          readyTimeoutMs: 60_000,
        },
        async (c) => {
          roots.push(...c.edges.map((e) => e.dataDir));
          const [edge1, edge2] = c.edges as [Cluster["edges"][0], Cluster["edges"][0]];
          const ctl = (args: string[]) =>
            runLevee(["ctl", ...args, "--server", c.cloud.apiUrl, "--token", c.cloud.adminToken], {
              timeoutMs: 240_000,
              env: { DOCKER_HOST: `unix://${docker.socket}` },
            });

          // Pushed once from the local Docker (docker save through its API, streamed).
          const timings: Record<string, number> = {};
          let since = performance.now();
          const lap = (what: string) => {
            timings[what] = Math.round(performance.now() - since);
            since = performance.now();
          };
          const pushed = await ctl(["image", "push", TAG]);
          lap("push");
          expect(pushed.stderr).toBe("");
          expect(pushed.code).toBe(0);
          expect(pushed.stdout).toContain(`image created (`);
          expect(pushed.stdout).toContain(`  ${TAG}\n`);
          expect(peakRssBytes(c.cloud.process.proc.pid)).toBeLessThan(BLOB);
          const listed = JSON.parse((await ctl(["image", "ls", "-o", "json"])).stdout) as {
            items: { reference: string; id: string; size: number }[];
          };
          const record = listed.items.find((i) => i.reference === TAG);
          const id = (await docker.client.inspectImage(TAG))?.Id;
          expect(record?.id).toBe(id as string);
          const size = record?.size as number;
          expect(size).toBeGreaterThan(BLOB);
          // Not in Docker any more: the edges must get it from the cloud.
          expect((await docker.cli(["rmi", TAG])).code).toBe(0);
          expect(await docker.client.inspectImage(TAG)).toBeUndefined();

          // 1. edge1, through a cut and a resume.
          const seen = new Set<string>();
          since = performance.now();
          await applyManifest(c, service(["edge1"]));
          const first = await readyOn(edge1, seen);
          lap("edge1: fetch (cut, resumed), load, ready");
          expect(await (await fetch(`http://127.0.0.1:${first.port}/ok`)).text()).toBe("ok\n");
          expect([...seen].some((m) => /^pulling image from the cloud: \d+ of \d+ MB$/.test(m))).toBe(true);
          const edge1Gets = artifactGets(proxy);
          expect(edge1Gets.every((r) => r.user === "edge1")).toBe(true);
          expect(edge1Gets[0]).toMatchObject({ range: null, status: 200, bytes: CUT });
          const resumed = edge1Gets.slice(1);
          expect(resumed.length).toBeGreaterThanOrEqual(1);
          expect(resumed[0]?.range).toMatch(/^bytes=\d+-$/);
          expect(resumed[0]?.status).toBe(206);
          const fetched1 = edge1Gets.reduce((sum, r) => sum + r.bytes, 0);
          expect(fetched1).toBeGreaterThanOrEqual(size);
          expect(fetched1).toBeLessThan(1.2 * size);
          expect((await docker.client.inspectImage(TAG))?.Id).toBe(id as string);

          // 2. Gone again from Docker; edge2 alone fetches and loads it.
          const deleted = await ctl(["delete", "service", "big"]);
          expect(deleted.code).toBe(0);
          await waitUntil(
            "big's container removed",
            async () =>
              (await docker.client.listContainers({ labels: { "levee.service": "big" }, all: true }))
                .length === 0,
            60_000,
          );
          expect((await docker.cli(["rmi", TAG])).code).toBe(0);
          const before2 = artifactGets(proxy).length;
          since = performance.now();
          await applyManifest(c, service(["edge2"], 2));
          await readyOn(edge2, new Set(), 2);
          lap("edge2: fetch, load, ready");
          const edge2Gets = artifactGets(proxy).slice(before2);
          expect(edge2Gets.map((r) => [r.user, r.range, r.status, r.bytes])).toEqual([
            ["edge2", null, 200, size],
          ]);

          // 3. Both: edge1 finds the image edge2 loaded (same ID) and fetches nothing.
          const before3 = artifactGets(proxy).length;
          since = performance.now();
          await applyManifest(c, service(["edge1", "edge2"]));
          const again1 = await readyOn(edge1, new Set());
          const again2 = await readyOn(edge2, new Set());
          lap("both ready, edge1 with the image already in Docker");
          process.stderr.write(`cloud images, ${size} bytes, ms: ${JSON.stringify(timings)}\n`);
          for (const w of [again1, again2])
            expect(await (await fetch(`http://127.0.0.1:${w.port}/ok`)).text()).toBe("ok\n");
          expect(artifactGets(proxy).length).toBe(before3);

          // In use: the image cannot be deleted from the cloud.
          const refused = await ctl(["image", "rm", TAG]);
          expect(refused.code).not.toBe(0);
          expect(refused.stderr).toContain("is run by service big");
        },
      );
    } finally {
      proxy.stop();
    }
  }, 600_000);
});
