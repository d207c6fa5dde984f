// Container workers through the whole stack: a cloud and an edge whose agent talks to a real
// dockerd (started by test/harness/docker.ts), busybox httpd containers serving a mounted Config,
// `levee ctl get workers` showing them ready, the same containers after a kill -9 of the agent,
// a command health check run inside the container, and a missing image failing only its worker.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { workerLogDir } from "../../src/node/workers/logs/log-files.ts";
import { applyManifest, type Cluster, runLevee, waitUntil, withCluster } from "../harness/cluster.ts";
import { dockerSkipReason, ensureDocker, removeLeveeContainers, type TestDocker } from "../harness/docker.ts";

const skip = await dockerSkipReason();
if (skip) process.stderr.write(`skipping container workers: ${skip}\n`);

interface AgentWorker {
  service: string;
  index: number;
  ready: boolean;
  port: number | null;
  containerId: string | null;
  restarts: number;
  phase: string;
  message: string;
}

describe.skipIf(skip !== undefined)("container workers", () => {
  let docker: TestDocker;
  const roots: string[] = [];
  beforeAll(async () => {
    docker = await ensureDocker();
  }, 120_000);
  afterAll(async () => {
    await removeLeveeContainers(docker.client, (agent) => roots.some((r) => agent.startsWith(r)));
  });

  const web = (image: string) =>
    JSON.stringify([
      {
        apiVersion: "levee/v1",
        kind: "Config",
        metadata: { name: "site" },
        data: { health: "ok\n", "index.html": "hi" },
      },
      {
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: {
          template: {
            driver: "container",
            image,
            command: ["sh", "-c", 'exec httpd -f -p "$PORT" -h /www'],
            port: "auto",
            env: { JSON: '{"a": "b\\"c"}\nline' },
            mounts: [{ config: { name: "site" }, target: "/www" }],
            health: { http: "/health", interval: "1s" },
            stopTimeout: "1s",
          },
          workers: [
            { node: "edge1", replicas: 2 },
            {
              node: "edge1",
              template: {
                health: { command: ["test", "-f", "/www/index.html"], interval: "1s" },
              },
            },
          ],
        },
      },
    ]);

  async function agentWorkers(c: Cluster): Promise<AgentWorker[]> {
    const res = await fetch(`${c.edges[0]?.agentUrl}/v1/workers?service=web`);
    return ((await res.json()) as { items: AgentWorker[] }).items;
  }

  test("run, serve, adopt after kill -9, and fail alone on a missing image", async () => {
    await withCluster({ edges: 1, edgeArgs: ["--docker-socket", docker.socket] }, async (c) => {
      roots.push(c.edges[0]?.dataDir as string);
      const edge = c.edges[0] as Cluster["edges"][0];
      await applyManifest(c, web(docker.image));
      let table = "";
      await waitUntil(
        "three ready container workers in ctl get workers",
        async () => {
          table = (await runLevee(["ctl", "get", "workers", "--data-dir", c.cloud.dataDir])).stdout;
          return (
            table.split("\n").filter((l) => /^web\s+edge1\s+[012]\s+ready\s+true\b/.test(l)).length === 3
          );
        },
        30_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${table}`);
      });
      const workers = await agentWorkers(c);
      for (const w of workers.filter((x) => x.index < 2)) {
        expect(await (await fetch(`http://127.0.0.1:${w.port}/index.html`)).text()).toBe("hi");
        const info = await docker.client.inspectContainer(w.containerId as string);
        expect(info?.Config.Labels).toMatchObject({
          "levee.node": "edge1",
          "levee.service": "web",
          "levee.index": String(w.index),
        });
        expect(info?.Config.Env).toContain('JSON={"a": "b\\"c"}\nline');
      }

      const logs = await runLevee([
        "ctl",
        "logs",
        "web",
        "--node",
        "edge1",
        "--worker",
        "0",
        "--data-dir",
        c.cloud.dataDir,
      ]);
      expect(logs.code).toBe(0);

      edge.kill("SIGKILL");
      await edge.restart();
      await waitUntil("adopted", async () => {
        const after = await agentWorkers(c);
        return after.length === 3 && after.every((w) => w.ready);
      });
      const after = await agentWorkers(c);
      expect(after.map((w) => w.containerId).sort()).toEqual(workers.map((w) => w.containerId).sort());
      expect(after.every((w) => w.restarts === 0)).toBe(true);

      // levee ctl restart replaces worker 0's container; the agent keeps the removed one's log
      // (levee ctl logs --previous).
      const cloudArgs = ["--data-dir", c.cloud.dataDir];
      const restarted = await runLevee(["ctl", "restart", "web", "--node", "edge1", ...cloudArgs]);
      expect(restarted.code).toBe(0);
      const old0 = after.find((w) => w.index === 0)?.containerId;
      await waitUntil("worker 0 in a new container", async () => {
        const w0 = (await agentWorkers(c)).find((w) => w.index === 0);
        return w0?.ready === true && w0.containerId !== old0;
      });
      const kept = join(workerLogDir(edge.dataDir, "web", 0), "previous.log");
      expect(existsSync(kept)).toBe(true);
      const previous = await runLevee(["ctl", "logs", "web", "--node", "edge1", "--previous", ...cloudArgs]);
      expect(previous).toMatchObject({ code: 0, stderr: "" });
      expect(previous.stdout).toBe(readFileSync(kept, "utf8").replace(/^\S+ /gm, ""));

      await applyManifest(c, web("levee-test/no-such-image:0"));
      await waitUntil("failed naming the image", async () => {
        const now = await agentWorkers(c);
        return (
          now.length === 3 &&
          now.every((w) => w.phase === "failed" && w.message.includes("levee-test/no-such-image:0"))
        );
      });
      // The old containers are gone: a replaced worker never leaves its predecessor running.
      for (const w of workers)
        expect(await docker.client.inspectContainer(w.containerId as string)).toBeUndefined();
    });
  }, 90_000);
});
