// Fetching an artifact from a peer with real agents: edge1's worker of a mesh service mounts an
// artifact (fetched from the cloud); then edge2 is planned a worker mounting it too, and fetches it from edge1
// through the mesh tunnel: the cloud serves edge2 no byte of it (its artifact route logs every
// download, by node: none by edge2), edge2's metrics count the bytes as from a peer, edge1's as
// served, and edge2's worker reads the file byte-exact.
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Cluster,
  httpWorkerService,
  makeTempDir,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { agentWorkers } from "../harness/workers.ts";

const SIZE = 3 * 1024 * 1024 + 17;

async function apply(c: Cluster, body: string): Promise<void> {
  const res = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** The worker of `service` on `node` once ready, and the bytes it reads at its MODEL path. */
async function workerReads(c: Cluster, node: string, service: string): Promise<Uint8Array> {
  const agent = c.edges.find((e) => e.name === node) as Cluster["edges"][0];
  let port = 0;
  await waitUntil(
    `${service} ready on ${node}`,
    async () => {
      const [w] = await agentWorkers(agent.agentUrl, service);
      port = w?.ready && w.port ? w.port : 0;
      return port > 0;
    },
    30_000,
  );
  const env = (await (await fetch(`http://127.0.0.1:${port}/env`)).json()) as Record<string, string>;
  const res = await fetch(`http://127.0.0.1:${port}/file?path=${encodeURIComponent(env.MODEL ?? "")}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function metric(c: Cluster, node: string, line: RegExp): Promise<number> {
  const agent = c.edges.find((e) => e.name === node) as Cluster["edges"][0];
  const text = await (await fetch(`${agent.agentUrl}/metrics`)).text();
  const match = text.split("\n").find((l) => line.test(l));
  return match ? Number(match.split(" ").at(-1)) : 0;
}

describe("artifacts from a peer", () => {
  test("edge2 fetches the artifact edge1 has from edge1, not from the cloud; its worker reads it byte-exact", async () => {
    const bytes = randomBytes(SIZE);
    const file = join(makeTempDir("levee-peer-fetch-"), "model.bin");
    writeFileSync(file, bytes);
    await withCluster({ edges: 2 }, async (c) => {
      const pushed = await runLevee(["ctl", "artifact", "push", file, "--data-dir", c.cloud.dataDir], {
        timeoutMs: 60_000,
      });
      expect(pushed.code, pushed.stderr).toBe(0);
      const sha256 = pushed.stdout.trimEnd().split("\n").at(-1) as string;
      // A service with a mesh port: the mesh catalog lists the nodes running its workers (the
      // nodes a node may ask are those its catalog lists).
      const service = (workers: unknown[]) => {
        const manifest = JSON.parse(
          httpWorkerService("model", workers, {
            mounts: [{ artifact: { sha256, name: "model.bin", size: SIZE }, envName: "MODEL" }],
          }),
        );
        manifest.spec.mesh = { port: 18_470, protocol: "http" };
        return JSON.stringify(manifest);
      };
      const downloadsBy = (node: string) =>
        c.cloud.logs.filter((l) => l.includes("artifact download") && l.includes(`by=${node} `)).length;

      await apply(c, service([{ node: "edge1" }]));
      expect(Buffer.compare(await workerReads(c, "edge1", "model"), bytes)).toBe(0);
      expect(downloadsBy("edge1")).toBeGreaterThan(0);
      expect(await metric(c, "edge1", /^levee_artifact_source_bytes_total\{source="cloud"\}/)).toBe(SIZE);

      await apply(c, service([{ node: "edge1" }, { node: "edge2" }]));
      expect(Buffer.compare(await workerReads(c, "edge2", "model"), bytes)).toBe(0);
      expect(downloadsBy("edge2")).toBe(0);
      expect(await metric(c, "edge2", /^levee_artifact_source_bytes_total\{source="peer"\}/)).toBe(SIZE);
      expect(await metric(c, "edge2", /^levee_artifact_source_bytes_total\{source="cloud"\}/)).toBe(0);
      expect(await metric(c, "edge1", /^levee_artifact_served_bytes_total /)).toBe(SIZE);
    });
  }, 120_000);
});
