// Disaster recovery with real processes: `levee ctl backup` from a running cloud, the cloud
// stopped, `levee cloud --restore` into a new data dir, on the same address and on a new one
// (another host: the edges are pointed at it and restarted). The edges reconnect with the
// identities they have (no join), their workers keep their processes, a service applied after the
// backup is gone (the restored desired state rules, although the edge had a newer revision), and
// a new apply reaches them.
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { startAgent, type TestAgent } from "../harness/agent.ts";
import {
  applyManifest,
  type Cluster,
  makeTempDir,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { agentWorkers } from "../harness/workers.ts";

async function runningPid(edge: TestAgent, service: string): Promise<number> {
  let pid: number | null = null;
  await waitUntil(`${service} running on ${edge.name}`, async () => {
    pid = (await agentWorkers(edge.agentUrl, `${service}.team`))[0]?.pid ?? null;
    return pid !== null;
  });
  return pid as unknown as number;
}

const sleeper = (name: string, nodes = ["edge1"]) =>
  JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name, namespace: "team" },
    spec: {
      template: { command: ["sh", "-c", "sleep 1000"], stopTimeout: "2s" },
      workers: nodes.map((node) => ({ node, replicas: 1 })),
    },
  });

describe("backup and restore", () => {
  test("a cloud restored on a new data dir: the edge resumes without joining, workers untouched", async () => {
    await withCluster({ edges: 1 }, async (c: Cluster) => {
      const edge = c.edges[0] as TestAgent;
      await applyManifest(c, sleeper("kept"), "application/json");
      const pid = await runningPid(edge, "kept");

      const file = join(makeTempDir("levee-backup-e2e-"), "cloud.tar");
      const saved = await runLevee(["ctl", "backup", file, "--data-dir", c.cloud.dataDir]);
      expect(saved.code, saved.stderr).toBe(0);
      expect(saved.stdout).toContain("levee.db");
      expect(saved.stdout).toContain("artifacts NOT included");
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // After the backup: a service the restored cloud will not know, and a newer plan revision.
      await applyManifest(c, sleeper("later"), "application/json");
      await runningPid(edge, "later");

      await c.cloud.stop();
      const restored = await startAgent({
        name: "cloud",
        mode: "cloud",
        address: c.cloud.address,
        dataDir: join(makeTempDir("levee-restored-"), "cloud"),
        args: ["--restore", file],
        readyTimeoutMs: 20_000,
      });
      try {
        await waitUntil(
          "edge1 reconnected (ready)",
          async () => (await fetch(`${edge.agentUrl}/readyz`).catch(() => undefined))?.status === 200,
          20_000,
        );
        await waitUntil(
          "the service applied after the backup is stopped",
          async () => {
            return (await agentWorkers(edge.agentUrl, "later.team")).length === 0;
          },
          20_000,
        );
        expect(await runningPid(edge, "kept")).toBe(pid);
        expect(restored.logs.some((l) => l.includes("node joined"))).toBe(false);

        await applyManifest(c, sleeper("after"), "application/json");
        await runningPid(edge, "after");
        expect(await runningPid(edge, "kept")).toBe(pid);
        // The edge runs the restored cloud's plan: its new epoch (printed by --restore).
        const epoch = restored.logs.join("\n").match(/new epoch ([0-9a-f-]{36})/)?.[1];
        expect(epoch).toBeDefined();
        const plan = (await (await fetch(`${edge.agentUrl}/v1/plan`)).json()) as { epoch: string };
        expect(plan.epoch).toBe(epoch as string);
        const node = (await (await c.cloud.api("/api/v1/nodes/edge1")).json()) as {
          status: { phase: string };
        };
        expect(node.status.phase).toBe("Ready");
      } finally {
        await restored.stop();
      }
    });
  }, 90_000);

  test("a cloud restored on a new host: the edges follow its new URL with their identities, workers untouched", async () => {
    await withCluster({ edges: 2 }, async (c: Cluster) => {
      const edges = c.edges;
      await applyManifest(c, sleeper("kept", ["edge1", "edge2"]), "application/json");
      const pids = await Promise.all(edges.map((e) => runningPid(e, "kept")));

      const file = join(makeTempDir("levee-backup-e2e-"), "cloud.tar");
      const saved = await runLevee(["ctl", "backup", file, "--data-dir", c.cloud.dataDir]);
      expect(saved.code, saved.stderr).toBe(0);
      await c.cloud.stop();

      // The new host: another address; nothing answers on the old one any more.
      const address = c.cloud.address.replace(/\.\d+$/, ".30");
      const apiUrl = `http://${address}:7400`;
      const restored = await startAgent({
        name: "cloud",
        mode: "cloud",
        address,
        dataDir: join(makeTempDir("levee-restored-"), "cloud"),
        args: ["--restore", file],
        readyTimeoutMs: 20_000,
      });
      c.cloud.api = (path: string, init: RequestInit = {}) =>
        fetch(`${apiUrl}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${c.cloud.adminToken}`, ...(init.headers ?? {}) },
        });
      try {
        for (const edge of edges) {
          await edge.stop();
          await edge.restart({ args: ["--cloud", apiUrl] });
        }
        for (const edge of edges) {
          await waitUntil(
            `${edge.name} Ready at the restored cloud`,
            async () => {
              const res = await c.cloud.api(`/api/v1/nodes/${edge.name}`).catch(() => undefined);
              return (
                res?.ok === true &&
                ((await res.json()) as { status: { phase: string } }).status.phase === "Ready"
              );
            },
            20_000,
          );
          expect(edge.logs.some((l) => l.includes("the cloud's URL changed"))).toBe(true);
          expect(edge.logs.some((l) => l.includes(`mqtt://${address}:1883`))).toBe(true);
        }
        expect(restored.logs.some((l) => l.includes("node joined"))).toBe(false);
        expect(await Promise.all(edges.map((e) => runningPid(e, "kept")))).toEqual(pids);

        // Sync resumed: a new apply reaches both edges, the kept workers still the same processes.
        await applyManifest(c, sleeper("after", ["edge1", "edge2"]), "application/json");
        for (const edge of edges) await runningPid(edge, "after");
        expect(await Promise.all(edges.map((e) => runningPid(e, "kept")))).toEqual(pids);
      } finally {
        await restored.stop();
      }
    });
  }, 120_000);
});
