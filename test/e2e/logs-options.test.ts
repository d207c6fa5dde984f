// `levee ctl logs` options end to end, with real exec workers on two nodes (an edge and the
// cloud's own node): every worker of the service at once, each line prefixed [node/index] (and
// followed together with -f); --timestamps; --since (exec workers: by log file, whose time is its
// last write); --previous after `levee ctl restart` (the run before it, never followed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { workerLogDir } from "../../src/node/workers/logs/log-files.ts";
import {
  type Cluster,
  cleanEnv,
  leveeCommand,
  REPO_ROOT,
  runLevee,
  startCluster,
  waitUntil,
} from "../harness/cluster.ts";

let c: Cluster;
let edgeLog: string;
let cloudLog: string;
const started = Date.now();

beforeAll(async () => {
  c = await startCluster({ edges: 1 });
  const applied = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    body: JSON.stringify({
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "talk" },
      spec: {
        template: { command: ["sh", "-c", "echo run $$; exec sleep 3600"], stopTimeout: "2s" },
        workers: [
          { node: "edge1", replicas: 1 },
          { node: "cloud", replicas: 1 },
        ],
      },
    }),
  });
  if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
  await waitUntil("the workers running", async () => {
    const res = await c.cloud.api("/api/v1/workers?service=talk");
    const { items } = (await res.json()) as { items: { ready: boolean }[] };
    return items.length === 2 && items.every((w) => w.ready);
  });
  edgeLog = join(workerLogDir(c.edges[0]?.dataDir ?? "", "talk", 0), "current.log");
  cloudLog = join(workerLogDir(c.cloud.dataDir, "talk", 0), "current.log");
}, 30_000);
afterAll(async () => {
  await c?.destroy();
});

const serverArgs = () => ["--server", c.cloud.apiUrl, "--data-dir", c.cloud.dataDir];
const ctl = (...args: string[]) => runLevee(["ctl", ...args, ...serverArgs()]);

const step = (fn: () => Promise<void>) => async () => {
  try {
    await fn();
  } catch (err) {
    c.printLogs();
    throw err;
  }
};

/** The pid the worker on `node` printed (its first line: run PID). */
async function runLine(node: string): Promise<string> {
  let line = "";
  await waitUntil(`the worker on ${node} printed`, async () => {
    line = (await ctl("logs", "talk", "--node", node)).stdout;
    return /^run \d+\n$/.test(line);
  });
  return line;
}

describe("levee ctl logs options", () => {
  test(
    "without --node: every worker of the service, each line prefixed [node/index]; -f follows all",
    step(async () => {
      const edge = await runLine("edge1");
      const cloud = await runLine("cloud");
      const all = await ctl("logs", "talk");
      expect(all.stderr).toBe("");
      expect(all.code).toBe(0);
      expect(all.stdout.split("\n").filter(Boolean).sort()).toEqual([
        `[cloud/0] ${cloud.trim()}`,
        `[edge1/0] ${edge.trim()}`,
      ]);
      const sorted = (text: string) => text.split("\n").filter(Boolean).sort();
      expect(sorted((await ctl("logs", "talk", "--all")).stdout)).toEqual(sorted(all.stdout));

      const proc = Bun.spawn(
        [...leveeCommand(), "ctl", "logs", "talk", "-f", "--tail", "0", ...serverArgs()],
        {
          env: { ...process.env, ...cleanEnv() },
          cwd: REPO_ROOT,
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const out = { text: "" };
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of proc.stdout) out.text += decoder.decode(chunk, { stream: true });
      })();
      await Bun.sleep(1500); // both streams are open
      appendFileSync(edgeLog, "from the edge\n");
      appendFileSync(cloudLog, "from the cloud\n");
      await waitUntil(
        "both followed lines",
        () => out.text.includes("from the edge") && out.text.includes("from the cloud"),
        10_000,
      );
      expect(out.text.split("\n").filter(Boolean).sort()).toEqual([
        "[cloud/0] from the cloud",
        "[edge1/0] from the edge",
      ]);
      proc.kill("SIGINT");
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toBe("");
    }),
    40_000,
  );

  test(
    "--timestamps: each line begins with an RFC 3339 time",
    step(async () => {
      const out = await ctl("logs", "talk", "--node", "edge1", "--timestamps");
      expect(out.code).toBe(0);
      const lines = out.stdout.split("\n").filter(Boolean);
      expect(lines.length).toBe(2);
      for (const line of lines) {
        const [time, ...rest] = line.split(" ");
        expect(rest.join(" ")).toMatch(/^(run \d+|from the edge)$/);
        const ms = Date.parse(time ?? "");
        expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        expect(ms).toBeGreaterThanOrEqual(started - 1000);
        expect(ms).toBeLessThanOrEqual(Date.now());
      }
    }),
    20_000,
  );

  test(
    "--since: a log last written an hour ago is outside 10m and inside 2h; a bad one is refused",
    step(async () => {
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(edgeLog, hourAgo, hourAgo);
      const recent = await ctl("logs", "talk", "--node", "edge1", "--since", "10m");
      expect(recent).toMatchObject({ code: 0, stdout: "", stderr: "" });
      const wider = await ctl("logs", "talk", "--node", "edge1", "--since", "2h");
      expect(wider.stdout).toMatch(/^run \d+\nfrom the edge\n$/);
      const at = await ctl(
        "logs",
        "talk",
        "--node",
        "edge1",
        "--since",
        new Date(Date.now() - 7_200_000).toISOString(),
      );
      expect(at.stdout).toBe(wider.stdout);
      const bad = await ctl("logs", "talk", "--node", "edge1", "--since", "soon");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--since");
      const api = await c.cloud.api("/api/v1/logs/talk?node=edge1&since=soon");
      expect(api.status).toBe(400);
      expect(await api.text()).toContain("since");
    }),
    20_000,
  );

  test(
    "--previous after levee ctl restart: the run before it; the current log is the new run's",
    step(async () => {
      const before = (await ctl("logs", "talk", "--node", "edge1")).stdout;
      expect(before).toMatch(/^run \d+\nfrom the edge\n$/);
      const restarted = await ctl("restart", "talk", "--node", "edge1");
      expect(restarted.code).toBe(0);
      let now = "";
      await waitUntil(
        "the new run printed",
        async () => {
          now = (await ctl("logs", "talk", "--node", "edge1")).stdout;
          return /^run \d+\n$/.test(now) && now !== before;
        },
        20_000,
      );
      const previous = await ctl("logs", "talk", "--node", "edge1", "--previous");
      expect(previous).toMatchObject({ code: 0, stderr: "" });
      expect(previous.stdout).toBe(before);
      // -f with --previous ends: that run will not write again.
      const followed = await ctl("logs", "talk", "--node", "edge1", "--previous", "-f", "--tail", "1");
      expect(followed).toMatchObject({ code: 0, stdout: "from the edge\n", stderr: "" });
      // Every worker's previous run at once: the cloud's worker never restarted.
      const all = await ctl("logs", "talk", "-p");
      expect(all.stdout).toBe(before.replace(/^/gm, "[edge1/0] ").replace(/\[edge1\/0\] $/, ""));
    }),
    40_000,
  );
});
