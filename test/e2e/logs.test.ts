// `levee ctl logs` end to end: a real cloud and edge (harness), log files written where the exec
// driver writes them (<data dir>/workers/<service>/<index>/logs), and `levee ctl logs` run as a
// process. The request travels over MQTT to the edge, the log back over HTTP through the cloud.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
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
    body: JSON.stringify([service("echo", "edge1", 1), service("tools", "cloud", 2)]),
  });
  if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
  await waitUntil("the workers running", async () => {
    const res = await c.cloud.api("/api/v1/workers");
    const { items } = (await res.json()) as { items: { ready: boolean }[] };
    return items.length === 3 && items.every((w) => w.ready);
  });
  edgeLogs = workerLogDir(c.edges[0]?.dataDir ?? "", "echo", 0);
  mkdirSync(edgeLogs, { recursive: true });
  writeFileSync(join(edgeLogs, "current.log.1"), "old 1\nold 2\n");
  writeFileSync(join(edgeLogs, "current.log"), "new 1\nnew 2\nnew 3\n");
  const cloudLogs = workerLogDir(c.cloud.dataDir, "tools", 1);
  mkdirSync(cloudLogs, { recursive: true });
  writeFileSync(join(cloudLogs, "current.log"), "on the cloud's own node\n");
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
