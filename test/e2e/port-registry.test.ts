// The host-wide port registry shared by the agents of one host (src/node/workers/prestart/port-registry.ts):
// another agent frozen while it holds the registry's lock (SIGSTOP, a stalled VM) must stall
// neither this agent's plans nor anything else it does; its `port: auto` worker starts once the
// lock is free again. (Before the fix the agent waited for the lock synchronously: 10 s of a
// dead event loop per allocation, which made the frozen-edge control-plane test flaky.)
import { expect, test } from "bun:test";
import { join } from "node:path";
import {
  applyManifest,
  BUN,
  type Cluster,
  httpWorkerService,
  makeTempDir,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";

function service(name: string, node: string, greeting: string): string {
  return httpWorkerService(name, [{ node, replicas: 1 }], {
    env: { GREETING: greeting },
    restart: { backoff: { initial: "200ms", max: "1s" } },
  });
}

async function planOf(
  c: Cluster,
  node: string,
): Promise<{ desiredRevision: number; appliedRevision: number }> {
  const res = await c.cloud.api(`/api/v1/nodes/${node}`);
  return ((await res.json()) as { status: { plan: { desiredRevision: number; appliedRevision: number } } })
    .status.plan;
}

test("an agent frozen inside the shared port registry's lock stalls neither the plans nor the API of another", async () => {
  const registry = join(makeTempDir("levee-ports-"), "ports.db");
  await withCluster({ edges: 1, env: { LEVEE_PORT_REGISTRY: registry } }, async (c) => {
    const edge1 = c.edges[0];
    if (!edge1) throw new Error("no edge1");
    await applyManifest(c, service("first", "edge1", "a"), "application/json");
    await waitUntil("the first worker has its port", async () => {
      const res = await c.cloud.api("/api/v1/workers?service=first");
      const items = ((await res.json()) as { items: { ready: boolean }[] }).items;
      return items.length === 1 && items.every((w) => w.ready);
    });
    // Another agent of this host takes the registry's write lock and freezes.
    const holder = Bun.spawn(
      [
        BUN,
        "-e",
        `const { Database } = require("bun:sqlite");
         const db = new Database(${JSON.stringify(registry)});
         db.run("BEGIN IMMEDIATE");
         console.log("locked");
         process.kill(process.pid, "SIGSTOP");`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
      // A worker that needs a new port waits for the lock; everything else goes on.
      await applyManifest(c, service("second", "edge1", "b"), "application/json");
      const started = performance.now();
      for (const greeting of ["c", "d", "e"])
        await applyManifest(c, service("first", "edge1", greeting), "application/json");
      await waitUntil(
        "edge1 applied every revision while the lock is held",
        async () => {
          const plan = await planOf(c, "edge1");
          return plan.appliedRevision === plan.desiredRevision;
        },
        5_000,
      );
      const agentAnswer = performance.now();
      expect((await fetch(`${edge1.agentUrl}/v1/plan`)).status).toBe(200);
      expect(performance.now() - agentAnswer).toBeLessThan(2_000);
      console.log(`4 revisions applied in ${Math.round(agentAnswer - started)} ms with the registry locked`);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    // The lock is free again: the waiting worker gets its port and starts.
    await waitUntil(
      "both services ready",
      async () => {
        const res = await c.cloud.api("/api/v1/workers?node=edge1");
        const items = ((await res.json()) as { items: { service: string; ready: boolean }[] }).items;
        return items.length === 2 && items.every((w) => w.ready);
      },
      30_000,
    );
  });
}, 60_000);
