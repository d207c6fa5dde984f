// `levee ctl logs` end to end: a real cloud and edge (harness), log files written where the exec
// driver writes them (<data dir>/workers/<service>/<index>/logs), and `levee ctl logs` run as a
// process. The request travels over MQTT to the edge, the log back over HTTP through the cloud.
// Its options, with real exec workers on two nodes (the edge and the cloud's own): every worker of a
// service at once, each line prefixed [node/index] (followed together with -f); --timestamps;
// --since (exec workers: by log file, whose time is its last write); --previous after `levee ctl
// restart` (the run before it, never followed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rotate, workerLogDir } from "../../src/node/workers/logs/log-files.ts";
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
let edgeLogs: string;
let talkEdge: string;
let talkCloud: string;
const started = Date.now();

beforeAll(async () => {
  c = await startCluster({ edges: 1 });
  // Real workers that print nothing themselves (sleep): the test writes their log files.
  const service = (name: string, node: string, replicas: number) => ({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: { template: { command: ["sleep", "3600"] }, workers: [{ node, replicas }] },
  });
  const applied = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    body: JSON.stringify([
      service("echo", "edge1", 1),
      service("tools", "cloud", 2),
      {
        // Real output: one line per run, on two nodes.
        ...service("talk", "edge1", 1),
        spec: {
          template: { command: ["sh", "-c", "echo run $$; exec sleep 3600"], stopTimeout: "2s" },
          workers: [
            { node: "edge1", replicas: 1 },
            { node: "cloud", replicas: 1 },
          ],
        },
      },
    ]),
  });
  if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
  await waitUntil("the workers running", async () => {
    const res = await c.cloud.api("/api/v1/workers");
    const { items } = (await res.json()) as { items: { ready: boolean }[] };
    return items.length === 5 && items.every((w) => w.ready);
  });
  edgeLogs = workerLogDir(c.edges[0]?.dataDir ?? "", "echo", 0);
  mkdirSync(edgeLogs, { recursive: true });
  writeFileSync(join(edgeLogs, "current.log.1"), "old 1\nold 2\n");
  writeFileSync(join(edgeLogs, "current.log"), "new 1\nnew 2\nnew 3\n");
  const cloudLogs = workerLogDir(c.cloud.dataDir, "tools", 1);
  mkdirSync(cloudLogs, { recursive: true });
  writeFileSync(join(cloudLogs, "current.log"), "on the cloud's own node\n");
  talkEdge = join(workerLogDir(c.edges[0]?.dataDir ?? "", "talk", 0), "current.log");
  talkCloud = join(workerLogDir(c.cloud.dataDir, "talk", 0), "current.log");
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

/** `levee ctl logs ... -f` as a running process whose stdout is collected. */
function follow(...args: string[]) {
  const proc = Bun.spawn([...leveeCommand(), "ctl", "logs", ...args, "-f", ...serverArgs()], {
    env: { ...process.env, ...cleanEnv() },
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = { text: "" };
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of proc.stdout) out.text += decoder.decode(chunk, { stream: true });
  })();
  const stderr = new Response(proc.stderr).text();
  return {
    proc,
    out,
    stderr,
    until: (text: string) =>
      waitUntil(`output ${JSON.stringify(text)}`, () => out.text.includes(text), 10_000),
  };
}

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

      const f = follow("talk", "--tail", "0");
      await Bun.sleep(1500); // both streams are open
      appendFileSync(talkEdge, "from the edge\n");
      appendFileSync(talkCloud, "from the cloud\n");
      await waitUntil(
        "both followed lines",
        () => f.out.text.includes("from the edge") && f.out.text.includes("from the cloud"),
        10_000,
      );
      expect(f.out.text.split("\n").filter(Boolean).sort()).toEqual([
        "[cloud/0] from the cloud",
        "[edge1/0] from the edge",
      ]);
      f.proc.kill("SIGINT");
      expect(await f.proc.exited).toBe(0);
      expect(await f.stderr).toBe("");
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
      utimesSync(talkEdge, hourAgo, hourAgo);
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

describe("levee ctl logs", () => {
  test(
    "the last N lines across the rotated files, or everything",
    step(async () => {
      const tail = await ctl("logs", "echo", "--node", "edge1", "--tail", "4");
      expect(tail.stderr).toBe("");
      expect(tail.code).toBe(0);
      expect(tail.stdout).toBe("old 2\nnew 1\nnew 2\nnew 3\n");
      const all = await ctl("logs", "echo", "--node", "edge1", "--worker", "0");
      expect(all.stdout).toBe("old 1\nold 2\nnew 1\nnew 2\nnew 3\n");
      const own = await ctl("logs", "tools", "--node", "cloud", "--worker", "1");
      expect(own.stdout).toBe("on the cloud's own node\n");
    }),
    20_000,
  );

  test(
    "errors: no such worker (404 from the edge), no such node; no --node reads every worker",
    step(async () => {
      const missing = await ctl("logs", "echo", "--node", "edge1", "--worker", "7");
      expect(missing.code).toBe(1);
      expect(missing.stdout).toBe("");
      expect(missing.stderr).toBe("levee ctl logs: node edge1 has no worker echo/7\n");
      const unknown = await ctl("logs", "echo", "--node", "nowhere");
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('levee ctl logs: node "nowhere" not found\n');
      // Without --node: every worker of the service, prefixed (logs-options.test.ts).
      const all = await ctl("logs", "echo");
      expect(all).toMatchObject({ code: 0, stderr: "" });
      expect(all.stdout).toBe(
        "[edge1/0] old 1\n[edge1/0] old 2\n[edge1/0] new 1\n[edge1/0] new 2\n[edge1/0] new 3\n",
      );
    }),
    20_000,
  );

  test(
    "-f follows appended output across a rotation until Ctrl-C; the edge stops reading",
    step(async () => {
      const f = follow("echo", "--node", "edge1", "--tail", "1");
      await f.until("new 3\n");
      appendFileSync(join(edgeLogs, "current.log"), "appended 1\n");
      await f.until("appended 1\n");
      appendFileSync(join(edgeLogs, "current.log"), "before rotation\n");
      await rotate(edgeLogs, 3);
      appendFileSync(join(edgeLogs, "current.log"), "after rotation\n");
      await f.until("after rotation\n");
      expect(f.out.text).toBe("new 3\nappended 1\nbefore rotation\nafter rotation\n");
      const ended = () => c.edges[0]?.logs.filter((l) => l.includes("log stream ended")).length ?? 0;
      const endedBefore = ended();
      f.proc.kill("SIGINT");
      expect(await f.proc.exited).toBe(0);
      expect(await f.stderr).toBe("");
      await waitUntil("the edge to end its upload", () => ended() > endedBefore, 10_000);
      expect(c.edges[0]?.logs.filter((l) => l.includes("log stream failed"))).toEqual([]);
    }),
    30_000,
  );

  test(
    "a followed edge that dies breaks the stream off; then its logs are unavailable (503)",
    step(async () => {
      const f = follow("echo", "--node", "edge1", "--tail", "1");
      await f.until("after rotation\n");
      c.edges[0]?.kill("SIGKILL");
      expect(await f.proc.exited).toBe(1);
      expect(await f.stderr).toMatch(/^levee ctl logs: the log stream broke off: /);
      // Before its phase says so, the embedded broker knows the node's session is gone: 503 at
      // once, not a wait for an answer that cannot come (504 after 10 s).
      const early = await ctl("logs", "echo", "--node", "edge1");
      expect(early.code).toBe(1);
      expect(early.stderr).not.toMatch(/did not answer/);
      expect(early.stderr).toMatch(/not connected to the cloud's MQTT broker now|is disconnected/);
      await waitUntil("edge1 to be Disconnected", async () => {
        const res = await c.cloud.api("/api/v1/nodes/edge1");
        return ((await res.json()) as { status: { phase: string } }).status.phase === "Disconnected";
      });
      const offline = await ctl("logs", "echo", "--node", "edge1");
      expect(offline.code).toBe(1);
      expect(offline.stderr).toMatch(
        /^levee ctl logs: node edge1 is disconnected \(Disconnected since .*\): its logs cannot be read now\n$/,
      );
    }),
    30_000,
  );
});
