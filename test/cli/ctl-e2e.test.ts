// `levee ctl` end to end: a real `levee cloud` started by the harness and `levee ctl` run as a
// process against it, with the admin token from the cloud's data dir. In the first part the
// Service is pinned to edge1, which never joins: its workers stay pending with a message that says
// so. In the second, an edge joins with a token from `token create` and apply --wait follows it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LaunchedAgent, launchAgent, stopAgent, waitReady } from "../../src/cli/agent-launcher.ts";
import {
  type Cluster,
  cleanEnv,
  leveeCommand,
  makeTempDir,
  REPO_ROOT,
  runLevee,
  startCluster,
} from "../harness/cluster.ts";

const ECHO = `apiVersion: levee/v1
kind: Service
metadata: { name: echo, labels: {app: demo} }
spec:
  template:
    driver: exec
    command: ["node", "server.js"]
    env: { GREETING: hello }
    port: auto
    health: { http: /health }
  workers:
    - node: edge1
      replicas: 2
  mesh: { port: 19100, protocol: http, balance: round-robin, fallback: none }
`;

const BAD = `apiVersion: levee/v1
kind: Service
metadata: { name: bad }
spec:
  template: { driver: exec, command: ["true"] }
  workers:
    - { node: edge1, replica: 2 }
`;

const files = makeTempDir();
const echoFile = join(files, "echo.yaml");
const badFile = join(files, "bad.yaml");
writeFileSync(echoFile, ECHO);
writeFileSync(badFile, BAD);

let c: Cluster;
beforeAll(async () => {
  c = await startCluster({ edges: 0 });
}, 30_000);
afterAll(async () => {
  await c?.destroy();
});

/** `levee ctl ARGS` against the test cloud with its admin token. */
const ctl = (...args: string[]) =>
  runLevee(["ctl", ...args, "--server", c.cloud.apiUrl, "--data-dir", c.cloud.dataDir]);

/** Runs a test body; on failure prints the cloud's logs. */
const step = (fn: () => Promise<void>) => async () => {
  try {
    await fn();
  } catch (err) {
    c.printLogs();
    throw err;
  }
};

describe("levee ctl against a real cloud", () => {
  test(
    "token create prints the join token alone on its last line",
    step(async () => {
      const r = await ctl("token", "create", "--ttl", "1h", "--uses", "2");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.at(-1)).toMatch(/^lvjoin_[0-9a-f]{12}\.[A-Za-z0-9_-]{32}$/);
      expect(lines[0]).toContain("usable 2 times");
    }),
  );

  test(
    "apply creates a Service; applying it again changes nothing",
    step(async () => {
      const first = await ctl("apply", "-f", echoFile);
      expect(first).toMatchObject({ code: 0, stdout: "service/echo created\n", stderr: "" });
      const again = await ctl("apply", "-f", echoFile);
      expect(again).toMatchObject({ code: 0, stdout: "service/echo unchanged\n", stderr: "" });
    }),
  );

  test(
    "get services: a table with ready/total workers, and -o json a List",
    step(async () => {
      const table = await ctl("get", "svc");
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(
        /^NAME\s+NAMESPACE\s+WORKERS\s+GENERATION\s+AGE\necho\s+default\s+0\/2\s+1\s+\d+s\n$/,
      );

      const json = await ctl("get", "services", "-o", "json");
      expect(json.code).toBe(0);
      const list = JSON.parse(json.stdout);
      expect(list.kind).toBe("List");
      expect(list.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(["echo"]);
      expect(list.items[0].spec.workers[0]).toMatchObject({ node: "edge1", replicas: 2 });
    }),
  );

  test(
    "get -o yaml reads back with apply -f - (src/manifest/meta.ts: system fields are accepted on input)",
    step(async () => {
      const yaml = await ctl("get", "service", "echo", "-o", "yaml");
      expect(yaml.code).toBe(0);
      const proc = Bun.spawn(
        [
          ...leveeCommand(),
          "ctl",
          "apply",
          "-f",
          "-",
          "--server",
          c.cloud.apiUrl,
          "--data-dir",
          c.cloud.dataDir,
        ],
        {
          env: { ...process.env, ...cleanEnv() },
          cwd: REPO_ROOT,
          stdin: new Blob([yaml.stdout]),
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [code, stdout, stderr] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "service/echo unchanged\n", stderr: "" });
    }),
  );

  test(
    "get workers: the pinned workers, pending until edge1 joins",
    step(async () => {
      const r = await ctl("get", "workers");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^SERVICE\s+NODE\s+INDEX\s+PHASE\s+READY\s+RESTARTS\s+MESSAGE$/);
      expect(lines.slice(1).map((l) => l.split(/\s{3,}/).slice(0, 5))).toEqual([
        ["echo", "edge1", "0", "pending", "false"],
        ["echo", "edge1", "1", "pending", "false"],
      ]);
      expect(lines[1]).toContain("edge1");
      const one = await ctl("get", "workers", "echo", "-o", "json");
      expect(JSON.parse(one.stdout).items).toHaveLength(2);
    }),
  );

  test(
    "describe: the object, its workers and its events as YAML, without blocking on the stream",
    step(async () => {
      const started = Date.now();
      const r = await ctl("describe", "service", "echo");
      expect(Date.now() - started).toBeLessThan(8000);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("kind: Service\n");
      expect(r.stdout).toMatch(/\nworkers:\n {2}- node: edge1\n/);
      expect(r.stdout).toMatch(/\nevents:\n {2}- time: \S+\n {4}reason: Created\n/);
    }),
  );

  test(
    "a bad manifest (replica: for replicas): exit 2, the API's message and a line per issue with its path",
    step(async () => {
      const r = await ctl("apply", "-f", badFile);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines[0]).toStartWith("levee ctl apply: ");
      expect(lines.slice(1).length).toBeGreaterThanOrEqual(1);
      for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}spec\.workers\[0\]\S*: \S/);
      expect(r.stderr).toContain(
        'spec.workers[0].replica: unknown field "replica" (did you mean "replicas"?)',
      );
      const get = await ctl("get", "service", "bad");
      expect(get.code).toBe(1);
    }),
  );

  test(
    "delete removes the Service and its workers",
    step(async () => {
      const r = await ctl("delete", "service", "echo");
      expect(r).toMatchObject({ code: 0, stdout: "service/echo deleted\n", stderr: "" });
      const list = await ctl("get", "services");
      expect(list).toMatchObject({ code: 0, stdout: "", stderr: "No services found.\n" });
      const gone = await ctl("get", "service", "echo");
      expect(gone.code).toBe(1);
      // Every kind is named in lower case in not-found messages, as nodes are.
      expect(gone.stderr).toBe('levee ctl get: service "echo" not found\n');
      const noNode = await ctl("get", "node", "nowhere");
      expect(noNode.stderr).toBe('levee ctl get: node "nowhere" not found\n');
      const again = await ctl("delete", "svc", "echo");
      expect(again.code).toBe(1);
    }),
  );

  test(
    "no token: 401 is one line saying where the token was looked for",
    step(async () => {
      const empty = makeTempDir();
      const r = await runLevee(["ctl", "get", "nodes", "--server", c.cloud.apiUrl, "--data-dir", empty]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `levee ctl get: the cloud at ${c.cloud.apiUrl} needs a token and none was found: no --token or LEVEE_TOKEN, ` +
          `no --token-file or LEVEE_TOKEN_FILE, and ${join(empty, "admin.token")}: no such file\n`,
      );
    }),
  );

  test(
    "on the cloud's host the data dir is enough: api.url and admin.token",
    step(async () => {
      const r = await runLevee(["ctl", "get", "nodes", "-o", "json", "--data-dir", c.cloud.dataDir]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).kind).toBe("List");
    }),
  );

  test(
    "an unknown kind is a usage error (exit 2)",
    step(async () => {
      const r = await ctl("get", "pods");
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        'levee ctl get: unknown kind "pods"; one of: node|nodes|no, service|services|svc, config|configs|cfg, secret|secrets, worker|workers, route|routes, staging, namespace|namespaces|ns, grant|grants, imagemap|imagemaps, jointmultiedgeservice|jointmultiedgeservices|jmes, runtimeservice|runtimeservices|rts\n',
      );
    }),
  );

  test("schema needs no server", async () => {
    const r = await runLevee(["ctl", "schema", "service", "--server", "http://127.0.0.1:1"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ title: "levee/v1 Service", type: "object" });
  });
});

describe("levee ctl with a joined edge", () => {
  let cluster: Cluster;
  let edge: LaunchedAgent | undefined;
  const logs: string[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ edges: 0 });
  }, 30_000);
  afterAll(async () => {
    if (edge) await stopAgent(edge);
    await cluster?.destroy();
  });
  const run = (...args: string[]) =>
    runLevee(["ctl", ...args, "--server", cluster.cloud.apiUrl, "--data-dir", cluster.cloud.dataDir]);

  test("token create | tail -1 joins an edge; apply --wait follows its plan; get nodes shows it Ready", async () => {
    try {
      const created = await run("token", "create");
      expect(created.code).toBe(0);
      const token = created.stdout.trimEnd().split("\n").at(-1) ?? "";
      const address = `${cluster.subnet}.11`;
      edge = launchAgent({
        name: "edge1",
        command: leveeCommand(),
        args: [
          "edge",
          "--node-name",
          "edge1",
          "--bind-address",
          address,
          "--data-dir",
          join(makeTempDir(), "edge1"),
        ].concat(["--log-format", "text", "--cloud", cluster.cloud.apiUrl, "--token", token]),
        readyUrl: `http://${address}:7401/readyz`,
        env: cleanEnv(),
        onLine: (line) => logs.push(line),
      });
      await waitReady(edge, 15_000);

      // One worker: --wait follows the plan to edge1 and the worker until it is ready.
      const manifest = join(makeTempDir(), "idle.yaml");
      writeFileSync(
        manifest,
        "apiVersion: levee/v1\nkind: Service\nmetadata: {name: idle}\nspec:\n  template: {driver: exec, command: [sleep, '600']}\n  workers:\n    - {node: edge1}\n",
      );
      const applied = await run("apply", "-f", manifest, "--wait", "--timeout", "20s");
      const lines = applied.stdout.trimEnd().split("\n");
      expect(lines[0]).toBe("service/idle created");
      expect(lines.some((l) => /^edge1: Ready, plan (\d+)\/\1 applied, workers 1\/1 ready$/.test(l))).toBe(
        true,
      );
      expect(applied.code).toBe(0);
      expect(lines.at(-1)).toMatch(/^done: 1 node\(s\) at their latest plan, 1 worker\(s\) ready/);

      // A worker that cannot start: --wait fails, naming the worker and the cause.
      writeFileSync(
        manifest,
        "apiVersion: levee/v1\nkind: Service\nmetadata: {name: broken}\nspec:\n  template: {driver: exec, command: [no-such-program-levee]}\n  workers:\n    - {node: edge1}\n",
      );
      const failed = await run("apply", "-f", manifest, "--wait", "--timeout", "5s");
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("broken on edge1 #0");
      expect(failed.stderr).toContain("command not found: no-such-program-levee");

      const nodes = await run("get", "nodes");
      expect(nodes.code).toBe(0);
      expect(nodes.stdout).toMatch(/\nedge1\s+Ready\s+\S+\s+(\d+)\/\1\s+\d+s ago\s+\d+s\n/);
    } catch (err) {
      cluster.printLogs();
      process.stderr.write(`----- logs of edge1 -----\n${logs.join("\n")}\n`);
      throw err;
    }
  }, 40_000);
});
