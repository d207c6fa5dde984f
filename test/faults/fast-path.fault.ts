// The mesh's kernel fast path with real hosts: a cloud and edge1 in their own network namespaces
// (the cloud's namespace is "another host" for edge1), edge1 with --mesh-fast-path auto. A service
// whose one worker runs on edge1 is served by the kernel (nftables DNAT, seen in the rule counters
// and in the missing X-Forwarded-For the userspace proxy would add) for clients on the other host
// and on edge1 itself (at edge1's address: its bind address, so its service ports are not on
// 127.0.0.1); a second worker puts it back on the userspace path (balanced per request);
// kill -9 of the agent keeps traffic flowing; a restart rebuilds the table from the state (no rule
// of a service deleted meanwhile); a clean stop keeps the table while the workers run on,
// --stop-workers-on-exit and `levee uninstall` remove it; an unready worker leaves the kernel's
// path within a second; with the fast path off everything is served in userspace. Root only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUN, leveeCommand, makeTempDir, REPO_ROOT } from "../harness/cluster.ts";
import {
  createTestNetwork,
  faultSuiteAvailable,
  sweepStaleNetworks,
  type TestNetwork,
} from "../harness/netns.ts";
import { NetnsAgents } from "../harness/netns-agents.ts";

const available = faultSuiteAvailable();
const PORT = 19500;
const TCP_PORT = 19501;
const TABLE = "levee-edge-edge1";

interface Answer {
  status: number;
  body: string;
  /** What the worker saw of X-Forwarded-For (the userspace proxy adds it; the kernel does not). */
  xff: string;
  /** The worker that answered (node/service#index). */
  worker: string;
  error?: string;
}

describe.skipIf(!available.ok)("mesh fast path (nftables) across network namespaces", () => {
  let net: TestNetwork;
  let agents: NetnsAgents;
  const address = (host: string) => net.host(host).address;
  const until = (what: string, check: () => Promise<boolean>, ms = 30_000) =>
    agents.until(what, check, ms, 200);
  const edgeArgs = (token: string, extra: string[] = []) => [
    "edge",
    "--cloud",
    `http://${address("cloud")}:7400`,
    "--token",
    token,
    "--mesh-fast-path",
    "auto",
    ...extra,
  ];
  let token = "";

  /** POST /echo to url from inside `host`, one new connection; never throws. */
  async function request(host: string, url: string): Promise<Answer> {
    const script = `try {
      const r = await fetch(${JSON.stringify(url)}, { method: "POST", body: "hi", keepalive: false, signal: AbortSignal.timeout(4000) });
      console.log(JSON.stringify({ status: r.status, body: await r.text(), xff: r.headers.get("x-forwarded-for-seen") ?? "", worker: r.headers.get("x-worker") ?? "" }));
    } catch (err) { console.log(JSON.stringify({ status: 0, body: "", xff: "", error: String(err) })); }`;
    const out = await net.exec(host, [BUN, "-e", script], { timeoutMs: 10_000 });
    return JSON.parse(out.stdout.trim()) as Answer;
  }

  /** GET a path of edge1's agent API (inside edge1). */
  async function agentApi(path: string): Promise<{ status: number; body: string }> {
    const probe = await net.probe("edge1", `http://127.0.0.1:7401${path}`, 4000);
    return probe.ok ? { status: probe.status, body: probe.body } : { status: 0, body: probe.error };
  }

  async function routePath(service: string): Promise<string | undefined> {
    const answer = await agentApi(`/v1/routes/${service}`);
    if (answer.status !== 200) return undefined;
    const items = (JSON.parse(answer.body) as { items: { kind: string; path?: string }[] }).items;
    return items.find((r) => r.kind === "service-port")?.path;
  }

  /** edge1's fast-path table as `nft -j list counters` sees it: counter name → packets. */
  async function counters(): Promise<Map<string, number> | undefined> {
    try {
      const out = await net.exec("edge1", ["nft", "-j", "list", "counters", "table", "inet", TABLE]);
      const items = (
        JSON.parse(out.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }
      ).nftables;
      return new Map(items.flatMap((i) => (i.counter ? [[i.counter.name, i.counter.packets] as const] : [])));
    } catch {
      return undefined;
    }
  }

  const connections = async () => (await counters())?.get(`conns-${PORT}`) ?? 0;

  function worker(name: string, replicas: number, protocol: "http" | "tcp", port: number) {
    return {
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name },
      spec: {
        template: {
          command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
          port: "auto",
          health: { http: "/health", interval: "200ms", failureThreshold: 1 },
        },
        workers: [{ node: "edge1", replicas }],
        mesh: { port, protocol },
      },
    };
  }

  const startEdge = (extra: string[] = []) => agents.start("edge1", edgeArgs(token, extra));
  /** The pid of edge1's agent: the newest levee edge process whose argv names edge1's data dir. */
  async function edgePid(): Promise<number> {
    const out = await net.exec("edge1", ["pgrep", "-n", "-f", `edge .*${agents.dataDir("edge1")}`]);
    return Number(out.stdout.trim());
  }

  /** Stops edge1's agent with `signal` and waits until its process is gone. */
  async function stopEdge(signal: "TERM" | "KILL"): Promise<void> {
    await net.exec("edge1", ["kill", `-${signal}`, String(await edgePid())]);
    await until("edge1's agent gone", () =>
      edgePid().then(
        () => false,
        () => true,
      ),
    );
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1"] });
    agents = new NetnsAgents(net, makeTempDir("levee-fault-fastpath-"));
    agents.start("cloud", ["cloud", "--mesh-fast-path", "off"]);
    await until("the cloud API", async () => (await agents.ctl(["get", "nodes"])).includes("cloud"));
    token = await agents.joinToken(1);
    startEdge();
    await until("edge1 joined", async () => (await agents.ctl(["get", "nodes"])).includes("edge1"));
    await agents.apply(worker("fp", 1, "http", PORT), ["--wait", "--timeout", "30s"]);
    await agents.apply(worker("gone", 1, "tcp", TCP_PORT), ["--wait", "--timeout", "30s"]);
  }, 90_000);

  afterAll(async () => {
    await agents?.stop(3000);
    await net?.destroy();
  });

  test("from another host and from a local process: the kernel's path, to the right worker", async () => {
    await until("fp on the kernel's path", async () => (await routePath("fp")) === "kernel");
    const before = await connections();
    const answers = [
      await request("cloud", `http://${address("edge1")}:${PORT}/echo`),
      await request("edge1", `http://${address("edge1")}:${PORT}/echo`),
      await request("edge1", `http://${address("edge1")}:${PORT}/echo`),
    ];
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 200, body: "hi", xff: "", worker: "edge1/fp#0" });
    }
    expect((await connections()) - before).toBe(3);
    const metrics = (await agentApi("/metrics")).body;
    expect(metrics).toMatch(/levee_mesh_fast_path_connections_total\{service="fp",node="edge1"\} [3-9]/);
    expect(metrics).toMatch(
      /levee_mesh_fast_path_bytes_total\{service="fp",node="edge1",direction="to-worker"\} [1-9]/,
    );
    const readyz = JSON.parse((await agentApi("/readyz")).body) as { details?: Record<string, string> };
    expect(readyz.details?.["mesh fast path"]).toContain(`table inet ${TABLE}`);
    expect(await routePath("gone")).toBe("kernel");
  }, 60_000);

  test("a second http worker: balanced per request in userspace again; back to one: the kernel", async () => {
    await agents.apply(worker("fp", 2, "http", PORT), ["--wait", "--timeout", "30s"]);
    await until("fp on the userspace path", async () => (await routePath("fp")) === "userspace");
    const script = `const seen = new Set();
      for (let i = 0; i < 6; i++) {
        const r = await fetch("http://${address("edge1")}:${PORT}/echo", { method: "POST", body: "x" });
        await r.text();
        seen.add(r.headers.get("x-worker") + " " + (r.headers.get("x-forwarded-for-seen") !== ""));
      }
      console.log(JSON.stringify([...seen].sort()));`;
    const seen = JSON.parse((await net.exec("cloud", [BUN, "-e", script])).stdout.trim()) as string[];
    expect(seen).toEqual(["edge1/fp#0 true", "edge1/fp#1 true"]);
    await agents.apply(worker("fp", 1, "http", PORT), ["--wait", "--timeout", "30s"]);
    await until("fp on the kernel's path again", async () => (await routePath("fp")) === "kernel");
  }, 90_000);

  test("kill -9 of the agent: traffic keeps flowing; a restart rebuilds the table from the state", async () => {
    const before = await connections();
    await stopEdge("KILL");
    const answer = await request("cloud", `http://${address("edge1")}:${PORT}/echo`);
    expect(answer).toMatchObject({ status: 200, body: "hi", xff: "" });
    expect((await connections()) - before).toBe(1);
    // While edge1 is down its tcp service is deleted: the restart must not keep its rule.
    await agents.ctl(["delete", "service", "gone"]);
    startEdge();
    await until("the table without the deleted service", async () => {
      const names = [...((await counters())?.keys() ?? [])].sort();
      return (
        JSON.stringify(names) ===
        JSON.stringify([`conns-${PORT}`, `from-worker-${PORT}`, `to-worker-${PORT}`])
      );
    });
    const services = JSON.parse((await agentApi("/v1/services/fp")).body) as { workers: { port: number }[] };
    const table = (await net.exec("edge1", ["nft", "list", "table", "inet", TABLE])).stdout;
    expect(table).toContain(`dnat ip to 127.0.0.1:${services.workers[0]?.port}`);
    expect(table).not.toContain(String(TCP_PORT));
    expect((await request("edge1", `http://${address("edge1")}:${PORT}/echo`)).status).toBe(200);
  }, 90_000);

  test("a clean stop keeps the table while the workers run; --stop-workers-on-exit and uninstall remove it", async () => {
    await stopEdge("TERM");
    expect(await counters()).toBeDefined();
    expect((await request("cloud", `http://${address("edge1")}:${PORT}/echo`)).status).toBe(200);

    startEdge(["--stop-workers-on-exit"]);
    await until("fp on the kernel's path", async () => (await routePath("fp")) === "kernel");
    await stopEdge("TERM");
    expect(await counters()).toBeUndefined();

    // `levee uninstall` (nothing installed in these namespaces' files): removes a table left behind.
    startEdge();
    await until("fp served again", async () => (await routePath("fp")) === "kernel");
    await stopEdge("KILL");
    expect(await counters()).toBeDefined();
    if (!existsSync("/etc/systemd/system/levee-edge.service")) {
      const leveeArgv = [...leveeCommand(), "uninstall", "--mode", "edge"];
      const out = await net.exec("edge1", leveeArgv);
      expect(out.stdout).toContain(`removed nftables table inet ${TABLE}`);
      expect(await counters()).toBeUndefined();
    }
  }, 120_000);

  test("a worker that turns unready leaves the kernel's path within a second (then the userspace 503)", async () => {
    startEdge();
    await until("fp on the kernel's path", async () => (await routePath("fp")) === "kernel");
    // An adopted worker shows its stored readiness, then "not ready" until its first probe after
    // the start passes: let that settle, or the sick worker's last good probe lands after /sick.
    await Bun.sleep(1000);
    await until("fp still on the kernel's path", async () => (await routePath("fp")) === "kernel");
    // Inside edge1: make the worker sick, wait for the agent to see it unready, then time the 503.
    const service = `http://${address("edge1")}:${PORT}`;
    const script = `await fetch("${service}/sick");
      let unreadyAt = 0;
      for (;;) {
        const s = await (await fetch("http://127.0.0.1:7401/v1/services/fp")).json();
        if (s.workers.every((w) => !w.ready)) { unreadyAt = performance.now(); break; }
        await Bun.sleep(20);
      }
      for (;;) {
        const r = await fetch("${service}/", { keepalive: false });
        const body = await r.text();
        if (r.status === 503) { console.log(JSON.stringify({ ms: performance.now() - unreadyAt, body })); break; }
        if (performance.now() - unreadyAt > 5000) { console.log(JSON.stringify({ ms: -1, body })); break; }
        await Bun.sleep(20);
      }`;
    const result = JSON.parse(
      (await net.exec("edge1", [BUN, "-e", script], { timeoutMs: 30_000 })).stdout.trim(),
    ) as {
      ms: number;
      body: string;
    };
    expect(result.ms).toBeGreaterThanOrEqual(0);
    expect(result.ms).toBeLessThan(1000);
    expect(JSON.parse(result.body)).toMatchObject({ service: "fp", node: "edge1" });
    // The route status says so too (polled: a readiness report may still be on its way).
    await until("fp on the userspace path", async () => (await routePath("fp")) === "userspace", 2000);
    const remote = await request("cloud", `http://${address("edge1")}:${PORT}/echo`);
    expect(remote.status).toBe(503);
  }, 60_000);

  test("with the fast path off: no table, everything served in userspace", async () => {
    await stopEdge("TERM");
    agents.start(
      "edge1",
      edgeArgs(token).map((a) => (a === "auto" ? "off" : a)),
    );
    // A second, healthy worker (the first one stays sick).
    await agents.apply(worker("fp", 2, "http", PORT));
    await until("fp served in userspace", async () => {
      const answer = await request("cloud", `http://${address("edge1")}:${PORT}/echo`);
      return answer.status === 200 && answer.xff !== "";
    });
    expect(await counters()).toBeUndefined();
    expect(await routePath("fp")).toBe("userspace");
    const readyz = JSON.parse((await agentApi("/readyz")).body) as {
      status: string;
      details?: Record<string, string>;
    };
    expect(readyz.status).toBe("ready");
    expect(readyz.details?.["mesh fast path"]).toBe("off (--mesh-fast-path off)");
  }, 90_000);
});
