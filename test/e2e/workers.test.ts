// The local manager with real processes: exec workers (small HTTP servers) start on the right
// nodes and become ready, get their environment byte-exact, survive a kill -9 of their agent
// (same pids, no duplicates), come back within 5 s after an offline "reboot" (agent and workers
// killed, cloud down), restart per policy, and bad specs fail only their own worker.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  applyManifest,
  BUN,
  type Cluster,
  HTTP_WORKER,
  httpWorkerService,
  runLevee,
  waitUntil,
  withCluster,
} from "../harness/cluster.ts";
import { workerPidsUnder } from "../harness/workers.ts";

interface AgentWorker {
  service: string;
  index: number;
  phase: string;
  ready: boolean;
  port: number | null;
  pid: number | null;
  restarts: number;
  message: string;
}

interface CloudWorker {
  service: string;
  node: string;
  index: number;
  phase: string;
  ready: boolean;
  restarts: number;
  message: string;
}

const TRICKY = {
  JSON: '{"a": "b\\"c", "list": [1, 2]}',
  PY: "{'k': 'v', \"q\": None}\nsecond line\ttab ",
  EMPTY: "",
  UNICODE: "héllo — ✓",
};

function webService(name: string, workers: string, extra = ""): string {
  return httpWorkerService(name, JSON.parse(workers), {
    env: TRICKY,
    restart: { backoff: { initial: "200ms", max: "2s" } },
    ...(extra ? JSON.parse(extra) : {}),
  });
}

async function agentWorkers(agentUrl: string, service?: string): Promise<AgentWorker[]> {
  const res = await fetch(`${agentUrl}/v1/workers${service ? `?service=${service}` : ""}`);
  return ((await res.json()) as { items: AgentWorker[] }).items;
}

async function cloudWorkers(c: Cluster, service: string): Promise<CloudWorker[]> {
  const res = await c.cloud.api(`/api/v1/workers?service=${service}`);
  return ((await res.json()) as { items: CloudWorker[] }).items;
}

async function allReady(
  c: Cluster,
  service: string,
  count: number,
  timeoutMs = 20_000,
): Promise<CloudWorker[]> {
  let last: CloudWorker[] = [];
  await waitUntil(
    `${count} ready workers of ${service}`,
    async () => {
      last = await cloudWorkers(c, service);
      return last.length === count && last.every((w) => w.ready);
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${JSON.stringify(last)}`);
  });
  return last;
}

async function askWorker(port: number, path = "/"): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`);
}

describe("exec workers", () => {
  test("start on the right nodes, get their env byte-exact, and survive kill -9 of the agent", async () => {
    await withCluster({ edges: 2 }, async (c) => {
      const [edge1, edge2] = c.edges as [Cluster["edges"][0], Cluster["edges"][0]];
      await applyManifest(
        c,
        webService("web", JSON.stringify([{ node: "edge1", replicas: 2 }, { node: "edge2" }])),
        "application/json",
      );
      const ready = await allReady(c, "web", 3);
      expect(ready.map((w) => `${w.node}/${w.index}`).sort()).toEqual(["edge1/0", "edge1/1", "edge2/0"]);

      const local = await agentWorkers(edge1.agentUrl, "web");
      expect(local).toHaveLength(2);
      const ports = local.map((w) => w.port as number);
      expect(new Set(ports).size).toBe(2);
      for (const w of local) {
        const who = (await (await askWorker(w.port as number)).json()) as Record<string, unknown>;
        expect(who).toMatchObject({ node: "edge1", service: "web", index: w.index, pid: w.pid });
      }
      const env = (await (await askWorker(ports[0] as number, "/env")).json()) as Record<string, string>;
      for (const [k, v] of Object.entries(TRICKY)) expect(env[k]).toBe(v);
      expect(env).toMatchObject({
        NODE_NAME: "edge1",
        SERVICE_NAME: "web",
        NAMESPACE: "default",
        LOG_LEVEL: "INFO",
        DATA_PATH_PREFIX: "/home/data",
        LEVEE_AGENT_URL: `http://${edge1.address}:7401`,
        PORT: String(ports[0]),
      });
      expect(env.ADMIN_TOKEN).toBeUndefined();

      // Its output, through the cloud: levee ctl logs.
      const logs = await runLevee([
        "ctl",
        "logs",
        "web",
        "--node",
        "edge1",
        "--worker",
        "1",
        "--tail",
        "5",
        "--data-dir",
        c.cloud.dataDir,
      ]);
      expect(logs.stderr).toBe("");
      expect(logs.stdout).toContain("worker web/1 listening on");

      // kill -9 of the agent: same pids after it is back, no duplicate.
      const pidsBefore = local.map((w) => w.pid).sort();
      edge1.kill("SIGKILL");
      await Bun.sleep(300);
      await edge1.restart();
      await waitUntil("edge1's workers adopted and ready", async () => {
        const after = await agentWorkers(edge1.agentUrl, "web");
        return after.length === 2 && after.every((w) => w.ready);
      });
      const after = await agentWorkers(edge1.agentUrl, "web");
      expect(after.map((w) => w.pid).sort()).toEqual(pidsBefore);
      expect(after.map((w) => w.port).sort()).toEqual([...ports].sort());
      expect(after.every((w) => w.restarts === 0)).toBe(true);
      expect(workerPidsUnder([edge1.dataDir]).sort()).toEqual(pidsBefore as number[]);
      expect(workerPidsUnder([edge2.dataDir])).toHaveLength(1);
    });
  }, 60_000);

  test("offline reboot: cloud down, agent and workers killed → every worker ready again within 5 s", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      await applyManifest(
        c,
        webService("web", JSON.stringify([{ node: "edge1", replicas: 3 }])),
        "application/json",
      );
      await allReady(c, "web", 3);
      const before = await agentWorkers(edge.agentUrl, "web");
      await c.cloud.stop();
      edge.kill("SIGKILL");
      for (const pid of workerPidsUnder([edge.dataDir])) process.kill(-pid, "SIGKILL");
      await Bun.sleep(200);
      expect(workerPidsUnder([edge.dataDir])).toHaveLength(0);

      const started = performance.now();
      await edge.restart({ waitReady: false });
      await waitUntil(
        "every worker ready again",
        async () => {
          const now = await agentWorkers(edge.agentUrl, "web").catch(() => []);
          return now.length === 3 && now.every((w) => w.ready);
        },
        5_000,
      );
      const elapsed = performance.now() - started;
      const after = await agentWorkers(edge.agentUrl, "web");
      expect(after.map((w) => w.port).sort()).toEqual(before.map((w) => w.port).sort());
      for (const w of after) expect(w.pid).not.toBe(before.find((b) => b.index === w.index)?.pid);
      expect(workerPidsUnder([edge.dataDir])).toHaveLength(3);
      console.log(`offline reboot: 3 workers ready ${elapsed.toFixed(0)} ms after the agent started`);
    });
  }, 60_000);

  test("restart policy, liveness, and bad specs that fail only their own worker", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      await applyManifest(
        c,
        webService(
          "live",
          JSON.stringify([{ node: "edge1" }]),
          JSON.stringify({
            health: { http: "/health", interval: "300ms", failureThreshold: 2, liveness: true },
          }),
        ),
        "application/json",
      );
      await applyManifest(
        c,
        JSON.stringify({
          apiVersion: "levee/v1",
          kind: "Service",
          metadata: { name: "bad" },
          spec: {
            template: { command: [BUN, HTTP_WORKER], port: "auto" },
            workers: [
              { node: "edge1", template: { command: ["no-such-program-xyz"] } },
              {
                node: "edge1",
                template: {
                  mounts: [
                    { hostPath: { path: "/nonexistent/levee-dir", pathType: "Directory" }, envName: "D" },
                  ],
                },
              },
              {
                node: "edge1",
                template: {
                  mounts: [
                    { shared: { name: "scratch" }, envName: "S" },
                    { config: { name: "missing-config" }, envName: "C", changeMode: "signal:NOPE" },
                  ],
                },
              },
              { node: "edge1" },
            ],
          },
        }),
        "application/json",
      );
      await allReady(c, "live", 1);
      let bad: CloudWorker[] = [];
      await waitUntil("bad workers failed, the good one ready", async () => {
        bad = await cloudWorkers(c, "bad");
        return (
          bad.length === 4 &&
          bad.filter((w) => w.phase === "failed").length === 3 &&
          bad.some((w) => w.index === 3 && w.ready)
        );
      });
      const byIndex = (i: number) => bad.find((w) => w.index === i)?.message ?? "";
      expect(byIndex(0)).toContain("command not found: no-such-program-xyz");
      expect(byIndex(1)).toContain("/nonexistent/levee-dir does not exist (pathType Directory)");
      expect(byIndex(2)).toContain("SIGNOPE is not a signal name");

      // Exit code 3 → restarted (policy always), ready again.
      const [live] = await agentWorkers(edge.agentUrl, "live");
      await askWorker(live?.port as number, "/exit?code=3");
      await waitUntil("restarted after exit code 3", async () => {
        const [w] = await cloudWorkers(c, "live");
        return w?.restarts === 1 && w.ready;
      });
      // Liveness: /health starts failing → restarted.
      const [again] = await agentWorkers(edge.agentUrl, "live");
      await askWorker(again?.port as number, "/sick");
      await waitUntil("restarted by liveness", async () => {
        const [w] = await agentWorkers(edge.agentUrl, "live");
        return w?.restarts === 2 && w.ready && w.pid !== again?.pid;
      });
    });
  }, 60_000);
});

describe("worker updates", () => {
  test("a spec change replaces the worker; a live config change signals it; deletion stops it", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      const config = (text: string) =>
        JSON.stringify({
          apiVersion: "levee/v1",
          kind: "Config",
          metadata: { name: "app" },
          data: { "app.conf": text },
        });
      const service = (greeting: string, update = "replace") =>
        webService(
          "upd",
          JSON.stringify([{ node: "edge1" }]),
          JSON.stringify({
            env: { ...TRICKY, GREETING: greeting },
            update,
            mounts: [{ config: { name: "app" }, envName: "APP_CONF", changeMode: "signal:HUP" }],
          }),
        );
      await applyManifest(c, config("v1"), "application/json");
      await applyManifest(c, service("one"), "application/json");
      await allReady(c, "upd", 1);
      const [first] = await agentWorkers(edge.agentUrl, "upd");
      const env = (await (await askWorker(first?.port as number, "/env")).json()) as Record<string, string>;
      const confPath = `${env.APP_CONF}/app.conf`;
      const read = async (port: number) =>
        (await askWorker(port, `/file?path=${encodeURIComponent(confPath)}`)).text();
      expect(await read(first?.port as number)).toBe("v1");

      // Config content change with changeMode signal:HUP: rewritten in place, SIGHUP, same pid.
      await applyManifest(c, config("v2"), "application/json");
      await waitUntil("the worker got SIGHUP", async () => {
        const hups = (await (await askWorker(first?.port as number, "/hups")).json()) as { hups: number };
        return hups.hups === 1;
      });
      expect(await read(first?.port as number)).toBe("v2");
      const [same] = await agentWorkers(edge.agentUrl, "upd");
      expect(same?.pid).toBe(first?.pid);

      // Template change: replaced (new pid), the port stays.
      await applyManifest(c, service("two"), "application/json");
      await waitUntil("replaced", async () => {
        const [w] = await agentWorkers(edge.agentUrl, "upd");
        return w?.pid !== first?.pid && w?.ready === true;
      });
      const [second] = await agentWorkers(edge.agentUrl, "upd");
      expect(second?.port).toBe(first?.port);
      const env2 = (await (await askWorker(second?.port as number, "/env")).json()) as Record<string, string>;
      expect(env2.GREETING).toBe("two");
      expect(workerPidsUnder([edge.dataDir])).toEqual([second?.pid as number]);

      // Surge: the new instance starts (on a new port) before the old one stops.
      await applyManifest(c, service("three", "surge"), "application/json");
      await waitUntil("surged", async () => {
        const [w] = await agentWorkers(edge.agentUrl, "upd");
        return w?.pid !== second?.pid && w?.ready === true && workerPidsUnder([edge.dataDir]).length === 1;
      });
      const [third] = await agentWorkers(edge.agentUrl, "upd");
      expect(third?.port).not.toBe(second?.port);

      // Delete: stopped, directory removed, cloud no longer lists it.
      const del = await c.cloud.api("/api/v1/services/upd", { method: "DELETE" });
      expect(del.status).toBe(200);
      await waitUntil("stopped", async () => workerPidsUnder([edge.dataDir]).length === 0);
      await waitUntil(
        "gone from the agent",
        async () => (await agentWorkers(edge.agentUrl, "upd")).length === 0,
      );
      expect(await cloudWorkers(c, "upd")).toEqual([]);
    });
  }, 60_000);

  test("a worker removed while its agent was down is stopped when the agent comes back", async () => {
    await withCluster({ edges: 1 }, async (c) => {
      const edge = c.edges[0] as Cluster["edges"][0];
      await applyManifest(
        c,
        webService("gone", JSON.stringify([{ node: "edge1", replicas: 2 }])),
        "application/json",
      );
      await applyManifest(c, webService("stays", JSON.stringify([{ node: "edge1" }])), "application/json");
      await allReady(c, "gone", 2);
      await allReady(c, "stays", 1);
      const [stays] = await agentWorkers(edge.agentUrl, "stays");
      await edge.stop();
      expect(workerPidsUnder([edge.dataDir])).toHaveLength(3);
      expect((await c.cloud.api("/api/v1/services/gone", { method: "DELETE" })).status).toBe(200);
      await edge.restart();
      await waitUntil(
        "the removed service's workers stopped",
        async () => workerPidsUnder([edge.dataDir]).length === 1,
      );
      const [after] = await agentWorkers(edge.agentUrl, "stays");
      expect(after?.pid).toBe(stays?.pid);
      expect(after?.restarts).toBe(0);
    });
  }, 60_000);
});

test("--stop-workers-on-exit (levee demo) stops the workers with the agent", async () => {
  await withCluster({ edges: 1, edgeArgs: ["--stop-workers-on-exit"] }, async (c) => {
    const edge = c.edges[0] as Cluster["edges"][0];
    await applyManifest(
      c,
      webService("web", JSON.stringify([{ node: "edge1", replicas: 2 }])),
      "application/json",
    );
    await allReady(c, "web", 2);
    expect(workerPidsUnder([edge.dataDir])).toHaveLength(2);
    expect(await edge.stop()).toBe(0);
    expect(workerPidsUnder([edge.dataDir])).toHaveLength(0);
  });
}, 60_000);

test("an artifact mount: pushed once, fetched by the node, the worker reads it; unused → collected", async () => {
  await withCluster({ edges: 1 }, async (c) => {
    const edge = c.edges[0] as Cluster["edges"][0];
    const file = join(edge.dataDir, "..", "model.bin");
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7919) % 251);
    await Bun.write(file, bytes);
    const pushed = await runLevee([
      "ctl",
      "artifact",
      "push",
      file,
      "--name",
      "model.bin",
      "--data-dir",
      c.cloud.dataDir,
    ]);
    expect(pushed.code).toBe(0);
    const sha = pushed.stdout.trimEnd().split("\n").at(-1) as string;
    const mount = { artifact: { sha256: sha, name: "model.bin" }, envName: "MODEL" };
    await applyManifest(
      c,
      webService("ml", JSON.stringify([{ node: "edge1", replicas: 2 }]), JSON.stringify({ mounts: [mount] })),
      "application/json",
    );
    await allReady(c, "ml", 2);
    for (const w of await agentWorkers(edge.agentUrl, "ml")) {
      const env = (await (await askWorker(w.port as number, "/env")).json()) as Record<string, string>;
      expect(env.MODEL).toEndWith("/model.bin");
      const got = new Uint8Array(
        await (await askWorker(w.port as number, `/file?path=${env.MODEL}`)).arrayBuffer(),
      );
      expect(Buffer.compare(got, bytes)).toBe(0);
    }
    const cached = join(edge.dataDir, "cache", "artifacts", sha);
    expect(await Bun.file(cached).exists()).toBe(true);
    expect((await c.cloud.api("/api/v1/services/ml", { method: "DELETE" })).status).toBe(200);
    await waitUntil("the unused artifact collected", async () => !(await Bun.file(cached).exists()));
  });
}, 60_000);
