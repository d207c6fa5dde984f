// Plan before apply and roll back, with real agents: `levee ctl diff` and `apply --dry-run` answer
// exactly what the apply that follows answers (each object's outcome, each node's worker changes)
// and store nothing (generation and plan revisions unchanged); the agents then do what it said
// (a replaced worker runs a new process with the new env, a stopped one is gone, an added one
// runs, the others keep their process). `rollout undo` brings the previous spec back on every
// node, `--to-generation` a named one; the history is pruned to --history-limit, and describe shows
// the generation each worker runs.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WorkerSnapshot } from "../../src/node/workers/supervisor.ts";
import {
  type Cluster,
  httpWorkerService,
  makeTempDir,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";

type AgentWorker = Pick<WorkerSnapshot, "service" | "index" | "port" | "pid" | "ready">;

interface Answer {
  results: { kind: string; name: string; outcome: string; generation?: number; changes?: unknown[] }[];
  nodes: { node: string; revision: number; workers: { service: string; index: number; change: string }[] }[];
  dryRun?: boolean;
}

const dir = makeTempDir();

/** web on edge1 (×replicas) and edge2 with env VERSION; `extra` adds a service on edge2. */
function manifest(name: string, version: string, replicas: number, extra = false): string {
  const web = httpWorkerService(
    "web",
    [
      { node: "edge1", replicas },
      { node: "edge2", replicas: 1 },
    ],
    { env: { VERSION: version } },
  );
  const docs = [web, ...(extra ? [httpWorkerService("extra", [{ node: "edge2" }])] : [])];
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `[${docs.join(",")}]`);
  return file;
}

function ctl(c: Cluster, ...args: string[]) {
  return runLevee(["ctl", ...args, "--data-dir", c.cloud.dataDir], { timeoutMs: 30_000 });
}

async function ctlJson(c: Cluster, ...args: string[]): Promise<Answer> {
  const run = await ctl(c, ...args, "-o", "json");
  if (run.code !== 0) throw new Error(`levee ctl ${args.join(" ")}: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Answer;
}

async function agentWorkers(c: Cluster, node: string): Promise<AgentWorker[]> {
  const agent = c.edges.find((e) => e.name === node) as Cluster["edges"][0];
  const res = await fetch(`${agent.agentUrl}/v1/workers`);
  return ((await res.json()) as { items: AgentWorker[] }).items;
}

/** Every node's workers by `service/index`, once all the cloud's workers are ready. */
async function settled(c: Cluster, count: number): Promise<Map<string, AgentWorker & { version: string }>> {
  let last = "";
  await waitUntil(
    `${count} workers ready`,
    async () => {
      const items = ((await (await c.cloud.api("/api/v1/workers")).json()) as { items: { ready: boolean }[] })
        .items;
      last = JSON.stringify(items);
      return items.length === count && items.every((w) => w.ready);
    },
    40_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${last}`);
  });
  const out = new Map<string, AgentWorker & { version: string }>();
  for (const node of ["edge1", "edge2"]) {
    for (const w of await agentWorkers(c, node)) {
      const env = (await (await fetch(`http://127.0.0.1:${w.port}/env`)).json()) as Record<string, string>;
      out.set(`${node} ${w.service}/${w.index}`, { ...w, version: env.VERSION ?? "" });
    }
  }
  return out;
}

/** What the cloud stores that a dry run must not change: web's generation, each node's plan revision. */
async function stored(c: Cluster): Promise<string> {
  const web = await (await c.cloud.api("/api/v1/services/web")).json();
  const nodes = ((await (await c.cloud.api("/api/v1/nodes")).json()) as { items: Record<string, unknown>[] })
    .items;
  return JSON.stringify({
    generation: (web as { metadata?: { generation?: number } }).metadata?.generation ?? null,
    plans: nodes.map((n) => [
      (n.metadata as { name: string }).name,
      (n.status as { plan: { desiredRevision: number } }).plan.desiredRevision,
    ]),
  });
}

const versions = (workers: Map<string, { version: string }>) =>
  Object.fromEntries([...workers].map(([k, w]) => [k, w.version]));

describe("diff, dry run and rollback", () => {
  test("the dry run equals the apply; undo and --to-generation restore a spec on every node", async () => {
    await withCluster({ edges: 2, cloudArgs: ["--history-limit", "3"] }, async (c) => {
      const v1 = manifest("v1", "1", 2);
      expect((await ctl(c, "apply", "-f", v1)).code).toBe(0);
      const before = await settled(c, 3);

      // Plan the change: VERSION 2, one worker fewer on edge1, a new service on edge2.
      const v2 = manifest("v2", "2", 1, true);
      const storedBefore = await stored(c);
      const diff = await ctlJson(c, "diff", "-f", v2);
      const dry = await ctlJson(c, "apply", "--dry-run", "-f", v2);
      const text = await ctl(c, "diff", "-f", v2);
      expect(await stored(c)).toBe(storedBefore);
      expect(diff).toEqual(dry);
      expect(diff.dryRun).toBe(true);
      expect(text.stdout).toContain('~ spec.template.env.VERSION: "1" -> "2"');
      expect(text.stdout).toContain("web/1 stopped");
      expect(
        diff.nodes.flatMap((n) => n.workers.map((w) => `${n.node} ${w.service}/${w.index} ${w.change}`)),
      ).toEqual([
        "edge1 web/0 replaced",
        "edge1 web/1 stopped",
        "edge2 extra/0 added",
        "edge2 web/0 replaced",
      ]);

      // The apply answers the same, and the agents do what it said.
      const applied = await ctlJson(c, "apply", "-f", v2);
      expect(applied.results).toEqual(diff.results.map(({ changes: _, ...r }) => r));
      expect(applied.nodes).toEqual(diff.nodes);
      const after = await settled(c, 3);
      for (const node of diff.nodes) {
        for (const w of node.workers) {
          const key = `${node.node} ${w.service}/${w.index}`;
          if (w.change === "stopped") expect(after.has(key)).toBe(false);
          if (w.change === "added") expect(after.get(key)?.pid).toBeNumber();
          if (w.change === "replaced") {
            expect(after.get(key)?.pid).not.toBe(before.get(key)?.pid as number);
            expect(after.get(key)?.version).toBe("2");
          }
        }
      }

      // History: generations 1 and 2. Undo: generation 3 with generation 1's spec, on every node.
      const history = await ctl(c, "rollout", "history", "service/web");
      expect(history.code).toBe(0);
      expect(history.stdout).toMatch(
        /2 \(current\)\s+\S+\s+spec\.template\.env\.VERSION, spec\.workers\[0\]\.replicas/,
      );
      const undo = await ctl(c, "rollout", "undo", "service/web");
      expect(undo.code).toBe(0);
      expect(undo.stdout).toContain("service/web configured");
      const undone = await settled(c, 4);
      expect(versions(undone)).toEqual({
        "edge1 web/0": "1",
        "edge1 web/1": "1",
        "edge2 web/0": "1",
        "edge2 extra/0": "",
      });

      // --to-generation 2: VERSION 2 again everywhere, generation 4.
      const to2 = await ctlJson(c, "rollout", "undo", "service/web", "--to-generation", "2");
      expect(to2.results).toEqual([{ kind: "Service", name: "web", outcome: "configured", generation: 4 }]);
      const redone = await settled(c, 3);
      expect(versions(redone)).toEqual({ "edge1 web/0": "2", "edge2 web/0": "2", "edge2 extra/0": "" });

      // Pruned to 3 generations: 1 is gone, and asking for it says what is kept.
      const kept = (await ctlJson(c, "rollout", "history", "service/web")) as unknown as {
        items: { generation: number }[];
      };
      expect(kept.items.map((i) => i.generation)).toEqual([4, 3, 2]);
      const gone = await ctl(c, "rollout", "undo", "service/web", "--to-generation", "1");
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain("generation 1 is not kept (kept: 4, 3, 2; the current is 4)");

      // describe: each worker with the generation it runs.
      const described = await ctl(c, "describe", "service", "web", "-o", "json");
      const workers = (JSON.parse(described.stdout) as { workers: { generation?: number }[] }).workers;
      expect(workers.map((w) => w.generation)).toEqual([4, 4]);
    });
  }, 180_000);
});
