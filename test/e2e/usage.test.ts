// Usage measured by real agents: an exec worker on an edge that burns some CPU and holds some
// memory shows CPU > 0 and memory > 0 in the edge's own store (a sample every 10 s, a rate from the
// second on) and then in the cloud's (with a heartbeat, at most every 60 s), next to the usage of
// the edge itself and of the cloud's own node.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { nodeUsage, workerUsage } from "../../src/cloud/usage-store.ts";
import { localNodeUsage, localWorkerUsage } from "../../src/node/usage/usage-store.ts";
import { applyManifest, waitUntil, withCluster } from "../harness/cluster.ts";

// About 8 MB held in a shell variable; a short busy loop every 0.1 s (a fraction of a core).
const BURN = [
  'x=$(head -c 8000000 /dev/zero | tr "\\0" a)',
  "while :; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 0.1; done",
].join("; ");

function burnService(): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "burn" },
    spec: { template: { command: ["sh", "-c", BURN] }, workers: [{ node: "edge1" }] },
  });
}

/** Reads an agent's database while it runs (WAL: readers do not block its writes). */
function withDb<T>(dataDir: string, read: (db: Database) => T): T {
  const db = new Database(join(dataDir, "levee.db"), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe("usage", () => {
  test("an exec worker's CPU and memory reach the edge's store and then the cloud's", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as (typeof c.edges)[0];
      await applyManifest(c, burnService(), "application/json");

      const local = await waitFor("the edge's own usage of burn/0", 40_000, () =>
        withDb(edge.dataDir, (db) => {
          const node = localNodeUsage(db);
          const worker = localWorkerUsage(db, { service: "burn" })[0];
          return node && worker && worker.cpuNanocores > 0 && worker.memoryBytes > 0
            ? { node, worker }
            : undefined;
        }),
      );
      expect(local.worker.index).toBe(0);
      expect(local.worker.memoryBytes).toBeGreaterThan(8_000_000);
      expect(local.worker.windowSeconds).toBeGreaterThan(5);
      expect(local.node.cpus).toBeGreaterThanOrEqual(1);
      expect(local.node.memoryBytes).toBeGreaterThan(0);
      expect(local.node.memoryBytes).toBeLessThanOrEqual(local.node.memoryCapacityBytes);

      const cloud = await waitFor("the cloud's usage of burn/0 on edge1", 60_000, () =>
        withDb(c.cloud.dataDir, (db) => {
          const worker = workerUsage(db, { node: "edge1", service: "burn" })[0];
          return worker && worker.cpuNanocores > 0 && worker.memoryBytes > 0
            ? { db: nodeUsage(db), worker }
            : undefined;
        }),
      );
      // Rounded on the wire: whole millicores and KiB.
      expect(cloud.worker.cpuNanocores % 1_000_000).toBe(0);
      expect(cloud.worker.memoryBytes % 1024).toBe(0);
      expect(cloud.worker.memoryBytes).toBeGreaterThan(8_000_000);
      expect(cloud.db.map((n) => n.node).sort()).toEqual(["cloud", "edge1"]);
      expect(cloud.db.every((n) => n.cpus >= 1 && n.memoryBytes > 0)).toBe(true);
    });
  }, 120_000);
});

async function waitFor<T>(what: string, timeoutMs: number, read: () => T | undefined): Promise<T> {
  let found: T | undefined;
  await waitUntil(
    what,
    async () => {
      found = read();
      // Each look opens the database: not more than twice a second.
      if (found === undefined) await Bun.sleep(500);
      return found !== undefined;
    },
    timeoutMs,
  );
  return found as T;
}
