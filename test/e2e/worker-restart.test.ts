// Restarting one worker with real processes: `levee ctl restart` gives that worker a new process
// within seconds while the other worker of the service on the node keeps its own; a restart
// requested while the edge is stopped is applied when it comes back (desired state, not a
// message); and an agent restart without a new request restarts nothing.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { applyManifest, type Cluster, runLevee, waitUntil, withCluster } from "../harness/cluster.ts";
import { workerPidsUnder } from "../harness/workers.ts";

interface AgentWorker {
  index: number;
  phase: string;
  pid: number | null;
}

const KEY = "sleeper.team";

/** The pid of each worker of the service on the node (index order), once every one has a pid. */
async function pids(agentUrl: string): Promise<(number | null)[]> {
  const res = await fetch(`${agentUrl}/v1/workers?service=${KEY}`);
  const items = ((await res.json()) as { items: AgentWorker[] }).items;
  return items.sort((a, b) => a.index - b.index).map((w) => w.pid);
}

async function running(agentUrl: string): Promise<number[]> {
  let last: (number | null)[] = [];
  await waitUntil("both workers running", async () => {
    last = await pids(agentUrl);
    return last.length === 2 && last.every((p) => p !== null);
  });
  return last as number[];
}

/** Waits until worker `index` runs another process than `old`; every worker's pid then. */
async function newProcess(agentUrl: string, index: number, old: number, timeoutMs: number) {
  let now: (number | null)[] = [];
  await waitUntil(
    `worker ${index} has a new process`,
    async () => {
      now = await pids(agentUrl);
      return now[index] != null && now[index] !== old;
    },
    timeoutMs,
  );
  return now;
}

/** The worker processes of the edge's data dir (zombies of adopted workers left out), sorted. */
const onHost = (c: Cluster) => workerPidsUnder([(c.edges[0] as Cluster["edges"][0]).dataDir]).sort();

function restart(c: Cluster, index: number) {
  return runLevee([
    "ctl",
    "restart",
    "sleeper",
    "--node",
    "edge1",
    "--worker",
    String(index),
    "-n",
    "team",
    "--data-dir",
    c.cloud.dataDir,
  ]);
}

describe("levee ctl restart", () => {
  test("restarts one worker now, or when its edge is back; nothing else restarts", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      const service = {
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "sleeper", namespace: "team" },
        spec: {
          template: { command: ["sh", "-c", "echo started $$; sleep 1000"], stopTimeout: "2s" },
          workers: [{ node: "edge1", replicas: 2 }],
        },
      };
      await applyManifest(c, JSON.stringify(service), "application/json");
      const [first0, first1] = await running(edge.agentUrl);

      const done = await restart(c, 1);
      expect(done).toEqual({ code: 0, stdout: "worker sleeper/edge1/1 restarted\n", stderr: "" });
      let now = await newProcess(edge.agentUrl, 1, first1 as number, 5_000);
      expect(now[0]).toBe(first0 as number);
      expect(onHost(c)).toEqual([...now].sort() as number[]);
      // The run before the restart is kept apart (levee ctl logs --previous).
      const logs = join(edge.dataDir, "workers", KEY, "1", "logs");
      const log = ["previous.log", "current.log"].map((f) => readFileSync(join(logs, f), "utf8")).join("");
      expect(log.match(/^started \d+$/gm)).toEqual([`started ${first1}`, `started ${now[1]}`]);

      const missing = await restart(c, 5);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('service "team/sleeper" has no worker 5 on node "edge1"');

      // The edge is down: the request waits in its plan; the running process is left alone.
      const second1 = now[1] as number;
      await edge.stop();
      expect((await restart(c, 0)).code).toBe(0);
      const node = (await (await c.cloud.api("/api/v1/nodes/edge1")).json()) as {
        status: { plan: { desiredRevision: number; appliedRevision: number } };
      };
      expect(node.status.plan.desiredRevision).toBeGreaterThan(node.status.plan.appliedRevision);
      expect(onHost(c)).toContain(first0 as number);
      await edge.restart();
      now = await newProcess(edge.agentUrl, 0, first0 as number, 10_000);
      expect(now[1]).toBe(second1);
      expect(onHost(c)).toEqual([...now].sort() as number[]);

      // An agent restart without a new request: the same processes are adopted.
      const third0 = now[0] as number;
      await edge.stop();
      await edge.restart();
      await Bun.sleep(1_500); // time for a wrong restart to show
      expect(await running(edge.agentUrl)).toEqual([third0, second1]);
      expect(onHost(c)).toEqual([third0, second1].sort());
    });
  }, 90_000);
});
