// Staged rollouts with real agents: a Service whose new generation mounts an artifact keeps its old
// workers running and answering (same pids) while the nodes download it, each under a download cap
// the cloud set (levee ctl node set-bandwidth: edge1 fast, edge2 slow), and `levee ctl get staging`
// shows the bytes. all-nodes: edge1, done first, waits for edge2 — also across a restart of the
// cloud and of edge2's agent in the middle (the old workers keep serving; edge2 resumes its
// download) — then both switch; per-node: edge1 switches as soon as it has the file while edge2
// still fetches its own, which takes at least the time its cap allows.
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StagingRow } from "../../src/cloud/staging-store.ts";
import {
  type Cluster,
  httpWorkerService,
  makeTempDir,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { agentWorkers } from "../harness/workers.ts";

const dir = makeTempDir("levee-staging-");
const MiB = 1024 * 1024;

function ctl(c: Cluster, ...args: string[]) {
  return runLevee(["ctl", ...args, "--data-dir", c.cloud.dataDir], { timeoutMs: 60_000 });
}

async function push(c: Cluster, name: string, size: number): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(size));
  const run = await ctl(c, "artifact", "push", path);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trimEnd().split("\n").at(-1) as string;
}

/** The Service file: web on both edges, env VERSION, staged; with an artifact mount when given. */
function manifest(version: string, staging: string, artifact?: { sha256: string; size: number }): string {
  const file = join(dir, `web-${version}.json`);
  writeFileSync(
    file,
    httpWorkerService("web", [{ node: "edge1" }, { node: "edge2" }], {
      env: { VERSION: version },
      ...(artifact ? { mounts: [{ artifact, envName: "MODEL" }] } : {}),
    }).replace('"workers":', `"rollout":{"staging":"${staging}"},"workers":`),
  );
  return file;
}

interface Seen {
  pid: number;
  port: number;
  version: string;
}

/** The worker's pid and port (agent API) and the VERSION it answers with (its own /env). */
async function seen(c: Cluster, node: string): Promise<Seen | undefined> {
  const agent = c.edges.find((e) => e.name === node) as Cluster["edges"][0];
  const [w] = await agentWorkers(agent.agentUrl, "web");
  if (!w?.ready || !w.pid || !w.port) return undefined;
  const res = await fetch(`http://${agent.address}:${w.port}/env`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const env = (await res.json()) as Record<string, string>;
  return { pid: w.pid, port: w.port, version: env.VERSION ?? "" };
}

async function staging(c: Cluster): Promise<StagingRow[]> {
  const run = await ctl(c, "get", "staging", "-o", "json");
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { items: StagingRow[] }).items;
}

/** The worker itself (no agent needed): its pid and VERSION on a known port. */
async function direct(c: Cluster, node: string, port: number): Promise<{ pid: number; version: string }> {
  const agent = c.edges.find((e) => e.name === node) as Cluster["edges"][0];
  const base = `http://${agent.address}:${port}`;
  const who = (await (await fetch(`${base}/`)).json()) as { pid: number };
  const env = (await (await fetch(`${base}/env`)).json()) as Record<string, string>;
  return { pid: who.pid, version: env.VERSION ?? "" };
}

/**
 * Polls both edges until `done`: every poll, each edge's worker answers, with the old pid and
 * version until it switched, and the new version after. Returns when each switched (ms).
 */
async function watchSwitch(
  c: Cluster,
  old: Record<string, Seen>,
  next: string,
  onPoll: (rows: StagingRow[], switched: Record<string, number>) => void,
  timeoutMs = 90_000,
): Promise<Record<string, number>> {
  const start = Date.now();
  const switched: Record<string, number> = {};
  while (Object.keys(switched).length < 2) {
    if (Date.now() - start > timeoutMs) throw new Error(`no switch to ${next} within ${timeoutMs} ms`);
    for (const node of ["edge1", "edge2"]) {
      if (switched[node] !== undefined) continue;
      const now = await seen(c, node);
      const before = old[node] as Seen;
      if (now?.version === next) {
        switched[node] = Date.now() - start;
        continue;
      }
      // Until the switch, the old worker runs and answers. A surge-free replace leaves a gap
      // (old stopped, new starting: longer on a busy machine); that gap is the switch only when
      // the node is no longer fetching, and the new version must then answer soon.
      if (!now) {
        const row = (await staging(c)).find((r) => r.node === node);
        if (row?.state === "fetching" || row?.state === "waiting")
          throw new Error(`${node}: the old worker stopped answering while the node was ${row.state}`);
        const gapStart = Date.now();
        let again: Seen | undefined;
        while (Date.now() - gapStart < 10_000) {
          again = await seen(c, node);
          if (again) break;
          await Bun.sleep(100);
        }
        if (again?.version === next) {
          switched[node] = Date.now() - start;
          continue;
        }
        throw new Error(
          `${node}: the old worker stopped answering before the switch (${JSON.stringify(again)})`,
        );
      }
      expect(now.pid).toBe(before.pid);
      expect(now.version).toBe(before.version);
    }
    onPoll(await staging(c), switched);
    await Bun.sleep(200);
  }
  return switched;
}

describe("staged rollouts", () => {
  test("all-nodes waits for the slowest node, per-node switches each node when ready; the old workers serve meanwhile", async () => {
    await withCluster({ edges: 2 }, async (c) => {
      const size = 6 * MiB;
      const first = await push(c, "model-a.bin", size);
      const second = await push(c, "model-b.bin", size);
      for (const [node, rate] of [
        ["edge1", "8MiB/s"],
        ["edge2", "1MiB/s"],
      ] as const) {
        const set = await ctl(c, "node", "set-bandwidth", node, rate);
        expect(set.code, set.stderr).toBe(0);
        expect(set.stdout).toBe(`node ${node}: downloads capped at ${rate}\n`);
      }

      let run = await ctl(c, "apply", "-f", manifest("1", "all-nodes"));
      expect(run.code, run.stderr).toBe(0);
      const v1: Record<string, Seen> = {};
      await waitUntil(
        "web v1 ready on both edges",
        async () => {
          for (const node of ["edge1", "edge2"]) {
            const s = await seen(c, node);
            if (s?.version !== "1") return false;
            v1[node] = s;
          }
          return true;
        },
        30_000,
      );

      // all-nodes: edge1 has the file after ~0.75 s, edge2 after ~6 s; nobody switches before edge2.
      run = await ctl(c, "apply", "-f", manifest("2", "all-nodes", { sha256: first, size }));
      expect(run.code, run.stderr).toBe(0);
      // edge1 has it and waits; edge2 fetches. Then both sides restart: the cloud and edge2's agent.
      await waitUntil(
        "edge1 ready and held while edge2 fetches",
        async () => {
          const rows = await staging(c);
          const e1 = rows.find((r) => r.node === "edge1");
          const e2 = rows.find((r) => r.node === "edge2");
          return e1?.held === true && e2?.state === "fetching" && e2.fetched > 0 && e2.fetched < size;
        },
        20_000,
      );
      const edge2 = c.edges[1] as Cluster["edges"][0];
      await c.cloud.stop();
      await edge2.stop();
      for (const node of ["edge1", "edge2"]) {
        const before = v1[node] as Seen;
        expect(await direct(c, node, before.port)).toEqual({ pid: before.pid, version: "1" });
      }
      await c.cloud.restart();
      await edge2.restart();
      let heldSeen = false;
      let bytesSeen = false;
      const allNodes = await watchSwitch(c, v1, "2", (rows, switched) => {
        const e1 = rows.find((r) => r.node === "edge1");
        const e2 = rows.find((r) => r.node === "edge2");
        if (e1?.held && e2?.state === "fetching") heldSeen = true;
        if (e2?.state === "fetching" && e2.fetched > 0 && e2.fetched < e2.total && e2.total === size)
          bytesSeen = true;
        // Neither switches while edge2 still fetches.
        if (e2?.state === "fetching") expect(Object.keys(switched)).toEqual([]);
      });
      // After the restarts the cloud still holds edge1 until edge2 reports (durable reports and plans).
      expect(heldSeen).toBe(true);
      expect(bytesSeen).toBe(true);
      // Both switched together once edge2, after its restart, had the rest of the file.
      expect(Math.abs((allNodes.edge1 as number) - (allNodes.edge2 as number))).toBeLessThan(5_000);
      expect(edge2.logs.some((l) => l.includes("staged a generation"))).toBe(true);

      // per-node: edge1 switches as soon as it has the new file, edge2 ~6 s later.
      const v2: Record<string, Seen> = {};
      for (const node of ["edge1", "edge2"]) v2[node] = (await seen(c, node)) as Seen;
      run = await ctl(c, "apply", "-f", manifest("3", "per-node", { sha256: second, size }));
      expect(run.code, run.stderr).toBe(0);
      let edge1AheadOfEdge2 = false;
      const perNode = await watchSwitch(c, v2, "3", (rows, switched) => {
        const e2 = rows.find((r) => r.node === "edge2");
        if (switched.edge1 !== undefined && switched.edge2 === undefined && e2?.state === "fetching")
          edge1AheadOfEdge2 = true;
      });
      expect(edge1AheadOfEdge2).toBe(true);
      expect(perNode.edge1).toBeLessThan(perNode.edge2 as number);
      expect(perNode.edge2).toBeGreaterThan(5_000);
      // Switched: the staging view says so, nothing is held any more.
      const rows = await staging(c);
      expect(rows.map((r) => [r.node, r.generation, r.state, r.fetched, r.total])).toEqual([
        ["edge1", 3, "switched", size, size],
        ["edge2", 3, "switched", size, size],
      ]);
    });
  }, 240_000);
});
