// Every accepted apply is deliverable: a node's plan travels in one MQTT
// message of at most 1 MiB, so Config files travel by reference (the node fetches them over HTTP
// by sha256, verifies and keeps them) and what still cannot fit in a node's plan (thousands of
// services on one node) is refused at apply, naming the node, the size and the limit; the node
// keeps receiving every later change.
import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  applyManifest,
  type Cluster,
  httpWorkerService,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface CloudWorker {
  service: string;
  node: string;
  phase: string;
  ready: boolean;
  message: string;
}

interface AgentWorker {
  service: string;
  port: number | null;
  pid: number | null;
  ready: boolean;
}

function bigConfig(name: string, bytes: Uint8Array): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Config",
    metadata: { name },
    binaryData: { [`${name}.bin`]: Buffer.from(bytes).toString("base64") },
  });
}

function reader(greeting: string, name = "reader", node = "edge1"): string {
  return httpWorkerService(name, [{ node }], {
    env: { GREETING: greeting },
    mounts: [
      { config: { name: "big-a" }, envName: "A" },
      { config: { name: "big-b" }, envName: "B" },
    ],
  });
}

async function cloudWorkers(c: Cluster, service: string): Promise<CloudWorker[]> {
  const res = await c.cloud.api(`/api/v1/workers?service=${service}`);
  return ((await res.json()) as { items: CloudWorker[] }).items;
}

async function agentWorker(agentUrl: string, service: string): Promise<AgentWorker | undefined> {
  const res = await fetch(`${agentUrl}/v1/workers?service=${service}`);
  return ((await res.json()) as { items: AgentWorker[] }).items[0];
}

describe("plan delivery", () => {
  test("two 700 KiB Configs on one node reach it by reference; 3,000 services are refused at apply", async () => {
    await withCluster(
      { edges: 1, cloudArgs: ["--max-services-per-node", "5000", "--max-workers-per-node", "5000"] },
      async (c) => {
        const edge = c.edges[0] as Cluster["edges"][0];
        const a = randomBytes(700 * 1024);
        const b = randomBytes(700 * 1024);
        await applyManifest(c, bigConfig("big-a", a), "application/json");
        await applyManifest(c, bigConfig("big-b", b), "application/json");
        await applyManifest(c, reader("one"), "application/json");
        let last: CloudWorker[] = [];
        await waitUntil(
          "the reader is ready on edge1",
          async () => {
            last = await cloudWorkers(c, "reader");
            return last.length === 1 && last[0]?.ready === true;
          },
          30_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; last: ${JSON.stringify(last)}`);
        });

        // The worker reads both files, byte for byte.
        const worker = (await agentWorker(edge.agentUrl, "reader")) as AgentWorker;
        const env = (await (await fetch(`http://127.0.0.1:${worker.port}/env`)).json()) as Record<
          string,
          string
        >;
        const file = async (path: string) =>
          new Uint8Array(
            await (
              await fetch(`http://127.0.0.1:${worker.port}/file?path=${encodeURIComponent(path)}`)
            ).arrayBuffer(),
          );
        expect(sha256(await file(`${env.A}/big-a.bin`))).toBe(sha256(a));
        expect(sha256(await file(`${env.B}/big-b.bin`))).toBe(sha256(b));

        // The node's plan holds references, not the bytes; the content is in the node's store.
        // (with the agent token: without it the references' hashes are hidden)
        const agentToken = readFileSync(join(edge.dataDir, "agent.token"), "utf8").trim();
        const headers = { authorization: `Bearer ${agentToken}` };
        const plan = (await (await fetch(`${edge.agentUrl}/v1/plan`, { headers })).text()) as string;
        expect(plan.length).toBeLessThan(64 * 1024);
        expect(plan).toContain(sha256(a));

        // The cloud's own node reads its Config content from the cloud's database.
        await applyManifest(c, reader("one", "cloud-reader", "cloud"), "application/json");
        await waitUntil(
          "the cloud's reader is ready",
          async () => (await agentWorker(c.cloud.agentUrl, "cloud-reader"))?.ready === true,
          30_000,
        );
        const own = (await agentWorker(c.cloud.agentUrl, "cloud-reader")) as AgentWorker;
        const ownEnv = (await (await fetch(`http://127.0.0.1:${own.port}/env`)).json()) as Record<
          string,
          string
        >;
        const ownFile = await fetch(
          `http://127.0.0.1:${own.port}/file?path=${encodeURIComponent(`${ownEnv.B}/big-b.bin`)}`,
        );
        expect(sha256(new Uint8Array(await ownFile.arrayBuffer()))).toBe(sha256(b));

        // 3,000 services on edge1 do not fit in one plan message: refused, nothing stored.
        const services = Array.from({ length: 3000 }, (_, i) => ({
          apiVersion: "levee/v1",
          kind: "Service",
          metadata: { name: `many-${i}` },
          spec: {
            template: { command: ["sleep", "1000"], env: { PAD: "x".repeat(400) } },
            workers: [{ node: "edge1" }],
          },
        }));
        const res = await c.cloud.api("/api/v1/apply", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(services),
        });
        const text = await res.text();
        expect(res.status, text).toBe(409);
        expect(text).toContain("node edge1");
        expect(text).toMatch(/plan would be \d+ bytes, more than the \d+ one sync message can carry/);
        const stored = (await (await c.cloud.api("/api/v1/services")).json()) as { items: unknown[] };
        expect(stored.items).toHaveLength(2);

        // A later change still reaches the node.
        await applyManifest(c, reader("two"), "application/json");
        await waitUntil(
          "the reader runs the new spec",
          async () => {
            const w = await agentWorker(edge.agentUrl, "reader");
            if (!w?.ready || w.pid === worker.pid || !w.port) return false;
            const e = (await (await fetch(`http://127.0.0.1:${w.port}/env`)).json()) as Record<
              string,
              string
            >;
            return e.GREETING === "two";
          },
          30_000,
        );
      },
    );
  }, 120_000);
});
