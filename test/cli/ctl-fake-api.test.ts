// `levee ctl` as a real process against a scripted API in the test process: the parts whose
// behaviour depends on the server's state over time (apply --wait progress and timeout, describe
// not blocking on the event stream), the broker files, restart's request, and the exact error output.
import { afterAll, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, leveeCommand, makeTempDir, REPO_ROOT, runLevee } from "../harness/cluster.ts";

type Handler = (req: Request, url: URL) => Response | Promise<Response>;
const routes = new Map<string, Handler>();
const seen: { method: string; path: string; auth: string | null; type: string | null; body: string }[] = [];

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 30,
  async fetch(req) {
    const url = new URL(req.url);
    const body = await req.text();
    seen.push({
      method: req.method,
      path: url.pathname + url.search,
      auth: req.headers.get("authorization"),
      type: req.headers.get("content-type"),
      body,
    });
    const handler = routes.get(`${req.method} ${url.pathname}`);
    if (!handler)
      return Response.json({ error: `no such endpoint: ${req.method} ${url.pathname}` }, { status: 404 });
    return handler(req, url);
  },
});
afterAll(() => server.stop(true));

const SERVER = `http://127.0.0.1:${server.port}`;
const ctl = (args: string[], timeoutMs = 15_000) =>
  runLevee(["ctl", ...args, "--server", SERVER, "--token", "t0ken"], { timeoutMs });

function node(name: string, applied: number, desired: number) {
  return {
    metadata: { name, creationTimestamp: new Date().toISOString() },
    status: {
      phase: "Ready",
      lastSeen: new Date().toISOString(),
      addresses: [],
      plan: { appliedRevision: applied, desiredRevision: desired },
    },
  };
}

function worker(ready: boolean, message = "") {
  return {
    service: "echo",
    node: "edge1",
    index: 0,
    phase: ready ? "running" : "starting",
    ready,
    restarts: 0,
    message,
  };
}

const manifest = join(makeTempDir(), "echo.yaml");
writeFileSync(manifest, "apiVersion: levee/v1\nkind: Service\nmetadata: {name: echo}\n");

/**
 * An apply of echo that edge1 applies at its third poll of /nodes (the first is the snapshot
 * before the apply) and whose worker is ready from poll `readyAt` on; resolves to the apply's answer.
 */
function scriptRollout(readyAt: number) {
  const answer = { results: [{ kind: "Service", name: "echo", outcome: "configured" }] };
  routes.set("POST /api/v1/apply", () => Response.json(answer));
  let polls = 0;
  routes.set("GET /api/v1/nodes", () => {
    polls += 1;
    return Response.json({
      items: [polls === 1 ? node("edge1", 3, 3) : node("edge1", polls >= 3 ? 4 : 3, 4)],
    });
  });
  routes.set("GET /api/v1/workers", () => Response.json({ items: [worker(polls >= readyAt)] }));
  return answer;
}

describe("apply", () => {
  test("sends the file as it is with a YAML content type and the token", async () => {
    routes.set("POST /api/v1/apply", () =>
      Response.json({ results: [{ kind: "Service", name: "echo", outcome: "created", generation: 1 }] }),
    );
    seen.length = 0;
    const r = await ctl(["apply", "-f", manifest]);
    expect(r).toMatchObject({ code: 0, stdout: "service/echo created\n", stderr: "" });
    expect(seen).toEqual([
      {
        method: "POST",
        path: "/api/v1/apply",
        auth: "Bearer t0ken",
        type: "application/yaml",
        body: "apiVersion: levee/v1\nkind: Service\nmetadata: {name: echo}\n",
      },
    ]);
  });

  test("-f - reads standard input", async () => {
    seen.length = 0;
    const proc = Bun.spawn(
      [...leveeCommand(), "ctl", "apply", "-f", "-", "--server", SERVER, "--token", "t"],
      {
        env: { ...process.env, ...cleanEnv() },
        cwd: REPO_ROOT,
        stdin: new Blob(['{"apiVersion": "levee/v1"}']),
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stdout).text()).toBe("service/echo created\n");
    expect(seen[0]).toMatchObject({ type: "application/json", body: '{"apiVersion": "levee/v1"}' });
  });

  test("--dry-run --staged asks the cloud about the staged apply (the flag is sent, not dropped)", async () => {
    routes.set("POST /api/v1/apply", () => Response.json({ results: [], nodes: [], dryRun: true }));
    seen.length = 0;
    const r = await ctl(["apply", "--dry-run", "--staged", "all-nodes", "-f", manifest]);
    expect(r.code, r.stderr).toBe(0);
    expect(seen.map((s) => s.path)).toEqual(["/api/v1/apply?dryRun=true&staged=all-nodes"]);
    seen.length = 0;
    expect((await ctl(["apply", "--staged", "per-node", "-f", manifest])).code).toBe(0);
    expect(seen.map((s) => s.path)).toEqual(["/api/v1/apply?staged=per-node"]);
  });

  test("a 400: the API's message, then one line per issue; exit 2 (bad input)", async () => {
    routes.set("POST /api/v1/apply", () =>
      Response.json(
        {
          error: "invalid manifest; nothing was applied",
          issues: [
            { document: 0, kind: "Service", name: "echo", path: "spec.workers[0].node", message: "required" },
            {
              document: 0,
              kind: "Service",
              name: "echo",
              path: "spec.workers[0].replicas",
              message: "must be at least 0",
            },
          ],
        },
        { status: 400 },
      ),
    );
    const r = await ctl(["apply", "-f", manifest]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "levee ctl apply: invalid manifest; nothing was applied\n  spec.workers[0].node: required\n  spec.workers[0].replicas: must be at least 0\n",
    );
  });

  test("--wait prints per-node progress until the plan is applied and the workers are ready", async () => {
    scriptRollout(4);
    const r = await ctl(["apply", "-f", manifest, "--wait", "--timeout", "10s"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "service/echo configured",
      "edge1: Ready, plan 3/4 applied, workers 0/1 ready",
      "edge1: Ready, plan 4/4 applied, workers 0/1 ready",
      "edge1: Ready, plan 4/4 applied, workers 1/1 ready",
    ]);
    expect(lines[4]).toMatch(/^done: 1 node\(s\) at their latest plan, 1 worker\(s\) ready \(\S+\)$/);
  });

  test("--wait --timeout: exit 1, one line naming the node and the worker with its message", async () => {
    routes.set("GET /api/v1/nodes", () => Response.json({ items: [node("edge1", 3, 4)] }));
    routes.set("GET /api/v1/workers", () =>
      Response.json({ items: [worker(false, "health check failed: 503")] }),
    );
    const started = Date.now();
    const r = await ctl(["apply", "-f", manifest, "--wait", "--timeout", "1s"]);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "levee ctl apply: timed out after 1s: node not at the latest plan: edge1 at plan 3 of 4 (Ready); " +
        "workers not ready: echo on edge1 #0 (starting: health check failed: 503)\n",
    );
  });

  test("--wait -o json: stdout is the JSON answer alone (jq reads it), progress goes to stderr", async () => {
    const answer = scriptRollout(3);
    const r = await ctl(["apply", "-f", manifest, "--wait", "-o", "json", "--timeout", "10s"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(answer);
    expect(r.stderr).toContain("edge1: Ready, plan 3/4 applied, workers 0/1 ready\n");
    expect(r.stderr).toMatch(/\ndone: 1 node\(s\) at their latest plan/);
  });

  test("--wait shows a crash-looping worker as it restarts, not only at the timeout", async () => {
    routes.set("POST /api/v1/apply", () =>
      Response.json({ results: [{ kind: "Service", name: "echo", outcome: "configured" }] }),
    );
    let polls = 0;
    routes.set("GET /api/v1/nodes", () => Response.json({ items: [node("edge1", 4, 4)] }));
    routes.set("GET /api/v1/workers", () => {
      polls += 1;
      const restarts = Math.min(3, Math.floor(polls / 2));
      const message = `crash loop: exited ${restarts} times in a row soon after starting; last: exited with code 1; restarting in 4s`;
      return Response.json({ items: [{ ...worker(false, message), phase: "backoff", restarts }] });
    });
    const r = await ctl(["apply", "-f", manifest, "--wait", "--timeout", "3s"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toContain(
      "  echo on edge1 #0: backoff, 1 restart: crash loop: exited 1 times in a row soon after starting; last: exited with code 1; restarting in 4s",
    );
    expect(lines).toContain(
      "  echo on edge1 #0: backoff, 3 restarts: crash loop: exited 3 times in a row soon after starting; last: exited with code 1; restarting in 4s",
    );
    // each state once
    expect(lines.filter((l) => l.includes("3 restarts"))).toHaveLength(1);
  });

  test("a bad --timeout is a usage error", async () => {
    const r = await ctl(["apply", "-f", manifest, "--wait", "--timeout", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("levee ctl apply: flag --timeout: ");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("describe", () => {
  test("reads the event backlog without waiting for the open stream to end", async () => {
    routes.set("GET /api/v1/services/echo", () =>
      Response.json({ apiVersion: "levee/v1", kind: "Service", metadata: { name: "echo" }, spec: {} }),
    );
    routes.set("GET /api/v1/workers", () => Response.json({ items: [worker(true)] }));
    routes.set("GET /api/v1/events", () => {
      const event = (id: number, name: string, reason: string) =>
        `id: ${id}\nevent: event\ndata: ${JSON.stringify({ id, ts: "2026-01-01T00:00:00.000Z", kind: "Service", name, reason, message: "" })}\n\n`;
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(
            new TextEncoder().encode(event(1, "echo", "Created") + event(2, "other", "Created")),
          );
          // never closed: the live stream stays open
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    });
    const started = Date.now();
    const r = await ctl(["describe", "svc", "echo"]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kind: Service\nmetadata:\n  name: echo\n");
    expect(r.stdout).toContain(
      "workers:\n  - node: edge1\n    index: 0\n    phase: running\n    ready: true\n",
    );
    expect(r.stdout).toContain("events:\n  - time: 2026-01-01T00:00:00.000Z\n    reason: Created\n");
    expect(r.stdout).not.toContain("other");
  });
});

describe("broker-config mosquitto", () => {
  test("writes levee.passwd (0600) and levee.acl and prints the mosquitto.conf lines", async () => {
    routes.set("GET /api/v1/broker-config/mosquitto", () =>
      Response.json({
        passwordFile: "edge1:$7$hash\n",
        aclFile: "user edge1\ntopic readwrite levee/v1/nodes/edge1/#\n",
      }),
    );
    const dir = join(makeTempDir(), "mosquitto");
    const r = await ctl(["broker-config", "mosquitto", "--out-dir", dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await Bun.file(join(dir, "levee.passwd")).text()).toBe("edge1:$7$hash\n");
    expect(statSync(join(dir, "levee.passwd")).mode & 0o777).toBe(0o600);
    expect(await Bun.file(join(dir, "levee.acl")).text()).toContain("topic readwrite levee/v1/nodes/edge1/#");
    const conf = r.stdout.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(conf).toEqual([
      `password_file ${dir}/levee.passwd`,
      `acl_file ${dir}/levee.acl`,
      "allow_anonymous false",
    ]);
  });

  test("another broker is a usage error", async () => {
    const r = await ctl(["broker-config", "emqx"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: 'levee ctl broker-config: unknown broker "emqx"; one of: mosquitto\n',
    });
  });
});

describe("errors", () => {
  test("a refused token names where it came from", async () => {
    routes.set("GET /api/v1/nodes", () => Response.json({ error: "invalid token" }, { status: 401 }));
    const r = await ctl(["get", "nodes"]);
    expect(r).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `levee ctl get: the cloud at ${SERVER} refused the token from --token: invalid token\n`,
    });
  });

  test("status and get say the same one line about a server that refuses connections", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    const why = `cannot reach the cloud API at ${url}: connection refused (is levee cloud running there? --server or LEVEE_SERVER picks another)`;
    for (const sub of ["status", "get"]) {
      const args = sub === "get" ? ["get", "nodes"] : ["status"];
      const r = await runLevee(["ctl", ...args, "--server", url, "--token", "t"]);
      expect(r).toMatchObject({ code: 1, stdout: "", stderr: `levee ctl ${sub}: ${why}\n` });
    }
  });

  test("a 404 is the API's message", async () => {
    const r = await ctl(["get", "config", "nope"]);
    expect(r).toMatchObject({
      code: 1,
      stderr: "levee ctl get: no such endpoint: GET /api/v1/configs/nope\n",
    });
  });

  test("token create: the token alone on the last line", async () => {
    routes.set("POST /api/v1/tokens", () =>
      Response.json(
        {
          id: "0a1b2c3d4e5f",
          token: "lvjoin_0a1b2c3d4e5f.secret",
          expiresAt: "2026-01-02T00:00:00.000Z",
          uses: 3,
        },
        { status: 201 },
      ),
    );
    seen.length = 0;
    const r = await ctl(["token", "create", "--ttl", "2h", "--uses", "3"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(seen[0]?.body ?? "")).toEqual({ ttl: "2h", uses: 3 });
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("lvjoin_0a1b2c3d4e5f.secret");
  });
});

describe("restart", () => {
  test("posts the worker (the service by its key in -n's namespace, worker 0 by default) and says so", async () => {
    routes.set("POST /api/v1/workers/restart", () =>
      Response.json({ restarted: JSON.parse(seen.at(-1)?.body ?? "") }),
    );
    seen.length = 0;
    const r = await ctl(["restart", "processor", "--node", "edge1", "-n", "dayu"]);
    expect(r).toMatchObject({ code: 0, stdout: "worker processor/edge1/0 restarted\n", stderr: "" });
    expect(seen[0]?.path).toBe("/api/v1/workers/restart");
    expect(JSON.parse(seen[0]?.body ?? "")).toEqual({ service: "processor.dayu", node: "edge1", index: 0 });

    seen.length = 0;
    expect((await ctl(["restart", "echo", "--node", "edge1", "--worker", "2"])).code).toBe(0);
    expect(JSON.parse(seen[0]?.body ?? "")).toEqual({ service: "echo", node: "edge1", index: 2 });
  });

  test("without --node: a usage error (exit 2), nothing sent", async () => {
    seen.length = 0;
    const r = await ctl(["restart", "echo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing --node NODE");
    expect(seen).toEqual([]);
  });
});
