// `levee ctl exec` end to end: a real cloud and edge (harness), an exec worker on the edge, and
// `levee ctl exec` run as a process. The request travels over MQTT to the edge, which connects its
// session socket back to the cloud; the cloud passes the streams between it and the client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { workerDir } from "../../src/node/workers/worker-dirs.ts";
import { type Cluster, runLevee, startCluster, waitUntil } from "../harness/cluster.ts";
import { execCtl } from "../harness/exec-ctl.ts";

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ edges: 1 });
  const applied = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    body: JSON.stringify({
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "shell" },
      spec: {
        template: { command: ["sleep", "3600"], env: { GREETING: "hello from the worker" } },
        workers: [{ node: "edge1", replicas: 1 }],
      },
    }),
  });
  if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${await applied.text()}`);
  await waitUntil("the worker running", async () => {
    const res = await c.cloud.api("/api/v1/workers");
    const { items } = (await res.json()) as { items: { ready: boolean }[] };
    return items.length === 1 && items.every((w) => w.ready);
  });
}, 30_000);
afterAll(async () => {
  await c?.destroy();
});

const on = ["shell", "--node", "edge1"];
const serverArgs = () => ["--server", c.cloud.apiUrl, "--data-dir", c.cloud.dataDir];

describe("levee ctl exec", () => {
  test("stdout, stderr and the exit code come back apart", async () => {
    const r = await execCtl(c, [...on, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    const ok = await execCtl(c, [...on, "--", "true"]);
    expect(ok.code).toBe(0);
  }, 30_000);

  test("stdin is piped with -i; without -i the command sees its end at once", async () => {
    const input = `${"a line of input\n".repeat(20_000)}the end\n`;
    const piped = await execCtl(c, [...on, "-i", "--", "cat"], input);
    expect(piped.stderr).toBe("");
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(input);
    const closed = await execCtl(c, [...on, "--", "cat"]);
    expect(closed).toEqual({ code: 0, stdout: "", stderr: "" });
  }, 30_000);

  test("the worker's environment and directory, without its instance marker", async () => {
    const env = await execCtl(c, [...on, "--", "printenv", "SERVICE_NAME", "GREETING"]);
    expect(env.stdout).toBe("shell\nhello from the worker\n");
    const pwd = await execCtl(c, [...on, "--", "pwd"]);
    const dir = realpathSync(workerDir(c.edges[0]?.dataDir ?? "", "shell", 0));
    expect(pwd.stdout.trim()).toBe(dir);
    const marker = await execCtl(c, [...on, "--", "printenv", "LEVEE_WORKER_ID"]);
    expect(marker.code).toBe(1);
  }, 30_000);

  test("with -t the command runs in a terminal", async () => {
    const r = await execCtl(c, [...on, "-t", "--", "sh", "-c", "test -t 1 && echo terminal; exit 4"]);
    expect(r.code).toBe(4);
    expect(r.stdout.replaceAll("\r", "")).toBe("terminal\n");
  }, 30_000);

  test("refusals: no admin token, unknown worker, unknown node, a missing command; each recorded run is an event", async () => {
    const anonymous = await c.cloud.api("/api/v1/exec/shell?node=edge1&probe=1", {
      headers: { authorization: "" },
    });
    expect(anonymous.status).toBe(401);
    const missing = await execCtl(c, ["shell", "--node", "edge1", "--worker", "5", "--", "true"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("levee ctl exec: node edge1 has no worker shell/5 (404)\n");
    const nowhere = await execCtl(c, ["shell", "--node", "nowhere", "--", "true"]);
    expect(nowhere.stderr).toBe('levee ctl exec: node "nowhere" not found\n');
    const notFound = await execCtl(c, [...on, "--", "no-such-program-here"]);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toContain("command not found: no-such-program-here");
    const usage = await execCtl(c, ["shell", "--node", "edge1"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing COMMAND");
    const secret = await execCtl(c, [...on, "--", "sh", "-c", "echo s3cr3t-argument >/dev/null"]);
    expect(secret.code).toBe(0);
    const described = await runLevee(["ctl", "describe", "service", "shell", ...serverArgs()]);
    expect(described.stdout).toContain('ran "sh" in worker shell/edge1/0');
    expect(described.stdout).not.toContain("s3cr3t-argument");
  }, 30_000);
});
