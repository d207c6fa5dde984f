// Worker directories are garbage-collected: a deleted service's worker directories (logs included)
// and its service directory go with it, and at agent start the directories of workers that no
// longer exist (left by a crash between the removal from SQLite and from disk) are removed,
// without following symbolic links out of the data dir.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyManifest, type Cluster, makeTempDir, waitUntil, withCluster } from "../harness/cluster.ts";

function sleeper(name: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: {
      template: { command: ["sleep", "600"] },
      workers: [{ node: "edge1", replicas }],
    },
  });
}

async function readyOn(edge: Cluster["edges"][0], service: string): Promise<number> {
  const res = await fetch(`${edge.agentUrl}/v1/workers?service=${service}`);
  if (!res.ok) return -1;
  const { items } = (await res.json()) as { items: { ready: boolean }[] };
  return items.filter((w) => w.ready).length;
}

describe("worker directories", () => {
  test("a deleted service's worker directories and its service directory go with it", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      const workers = join(edge.dataDir, "workers");
      await applyManifest(c, sleeper("tmp", 2), "application/json");
      await applyManifest(c, sleeper("stays", 1), "application/json");
      await waitUntil("3 ready workers", async () => {
        return (await readyOn(edge, "tmp")) === 2 && (await readyOn(edge, "stays")) === 1;
      });
      expect(existsSync(join(workers, "tmp", "1", "logs"))).toBe(true);

      expect((await c.cloud.api("/api/v1/services/tmp", { method: "DELETE" })).status).toBe(200);
      await waitUntil("the deleted service's directory to go", () => !existsSync(join(workers, "tmp")));
      expect(readdirSync(workers)).toEqual(["stays"]);
    });
  }, 60_000);

  test("at start, directories of workers that no longer exist go; links are not followed", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      const workers = join(edge.dataDir, "workers");
      await applyManifest(c, sleeper("stays", 1), "application/json");
      await waitUntil("the worker of stays to be ready", async () => (await readyOn(edge, "stays")) === 1);
      // Strays as a crash between the SQLite delete and the rm leaves them, and links out.
      await edge.stop();
      const outside = makeTempDir("levee-outside-");
      writeFileSync(join(outside, "precious.txt"), "keep me");
      mkdirSync(join(workers, "ghost", "3", "logs"), { recursive: true });
      writeFileSync(join(workers, "ghost", "3", "logs", "current.log"), "old output\n");
      symlinkSync(outside, join(workers, "ghost", "3", "escape"));
      mkdirSync(join(workers, "empty-service"));
      symlinkSync(outside, join(workers, "linked-service"));
      mkdirSync(join(workers, "stays", "7"));
      await edge.restart();
      await waitUntil(
        "the worker of stays to be ready again",
        async () => (await readyOn(edge, "stays")) === 1,
      );

      expect(readdirSync(workers).sort()).toEqual(["linked-service", "stays"]);
      expect(readdirSync(join(workers, "stays"))).toEqual(["0"]);
      expect(existsSync(join(outside, "precious.txt"))).toBe(true);
      expect(edge.logs.some((l) => l.includes("removed the directories of workers"))).toBe(true);
    });
  }, 60_000);
});
