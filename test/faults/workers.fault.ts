// Workers across a broken link (issue 4, "Reconnect"): a cloud and an edge in their own network
// namespaces, two exec workers on the edge; the edge is isolated from everyone for 30 s while
// its workers keep serving, then healed: zero worker restarts, the same pids, and the cloud sees
// them ready again. Root only (npm run test:faults).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LaunchedAgent, launchAgent, stopAgent } from "../../src/cli/agent-launcher.ts";
import { BUN, cleanEnv, leveeCommand, makeTempDir, REPO_ROOT } from "../harness/cluster.ts";
import {
  createTestNetwork,
  faultSuiteAvailable,
  sweepStaleNetworks,
  type TestNetwork,
} from "../harness/netns.ts";
import { killWorkersUnder } from "../harness/workers.ts";

const available = faultSuiteAvailable();
const PARTITION_MS = 30_000;

interface AgentWorker {
  index: number;
  ready: boolean;
  pid: number;
  restarts: number;
}

describe.skipIf(!available.ok)("workers across a partition", () => {
  let net: TestNetwork;
  const agents: LaunchedAgent[] = [];
  const logs: string[] = [];
  const root = makeTempDir("levee-fault-workers-");
  const cloudDir = join(root, "cloud");
  const edgeDir = join(root, "edge1");
  const cloudAddress = () => net.host("cloud").address;
  const edgeAddress = () => net.host("edge1").address;

  async function ctl(args: string[]): Promise<string> {
    const argv = [
      ...leveeCommand(),
      "ctl",
      ...args,
      "--server",
      `http://${cloudAddress()}:7400`,
      "--token-file",
      join(cloudDir, "admin.token"),
    ];
    return (await net.exec("cloud", argv, { env: cleanEnv() })).stdout;
  }

  async function edgeWorkers(): Promise<AgentWorker[]> {
    const res = await net.probe("edge1", `http://${edgeAddress()}:7401/v1/workers`, 2000);
    if (!res.ok) throw new Error(`agent API: ${res.error}`);
    return (JSON.parse(res.body) as { items: AgentWorker[] }).items;
  }

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (await check().catch(() => false)) return;
      await Bun.sleep(250);
    }
    throw new Error(`timed out waiting for ${what}\n${logs.slice(-80).join("\n")}`);
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1"] });
    const start = (name: string, args: string[], address: string) => {
      const agent = launchAgent({
        name,
        command: net.spawnArgs(name, leveeCommand()),
        args: [...args, "--node-name", name, "--bind-address", address, "--log-format", "text"],
        readyUrl: `http://${address}:7401/readyz`,
        env: cleanEnv(),
        onLine: (line) => logs.push(`${name}: ${line}`),
      });
      agents.push(agent);
      return agent;
    };
    start("cloud", ["cloud", "--data-dir", cloudDir], cloudAddress());
    await until("the cloud API", async () => {
      const res = await net.probe("cloud", `http://${cloudAddress()}:7400/readyz`, 1000);
      return res.ok && res.status === 200;
    });
    const token = (await ctl(["token", "create"])).trim().split("\n").at(-1) as string;
    start(
      "edge1",
      ["edge", "--data-dir", edgeDir, "--cloud", `http://${cloudAddress()}:7400`, "--token", token],
      edgeAddress(),
    );
    const manifest = join(root, "web.json");
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: {
          template: {
            command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
            port: "auto",
            health: { http: "/health", interval: "1s" },
          },
          workers: [{ node: "edge1", replicas: 2 }],
        },
      }),
    );
    await until("the edge to join", async () => (await ctl(["get", "nodes"])).includes("edge1"));
    await ctl(["apply", "-f", manifest]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a, 2000)));
    killWorkersUnder([root]);
    await net?.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  test("an edge partitioned for 30 s keeps its workers: zero restarts after healing", async () => {
    await until("both workers ready", async () => {
      const w = await edgeWorkers();
      return w.length === 2 && w.every((x) => x.ready);
    });
    const before = await edgeWorkers();
    net.isolate("edge1");
    const started = performance.now();
    while (performance.now() - started < PARTITION_MS) {
      const during = await edgeWorkers();
      expect(during.every((w) => w.ready && w.restarts === 0)).toBe(true);
      await Bun.sleep(2000);
    }
    const cutOff = await ctl(["get", "nodes", "-o", "json"]);
    expect(cutOff).toMatch(/"phase": "(Disconnected|Lost)"/);
    net.rejoin("edge1");
    await until("the cloud to see edge1 ready and its workers ready", async () => {
      const workers = JSON.parse(await ctl(["get", "workers", "-o", "json"])) as {
        items: { node: string; ready: boolean; restarts: number }[];
      };
      const nodes = await ctl(["get", "nodes", "-o", "json"]);
      return (
        workers.items.filter((w) => w.node === "edge1" && w.ready).length === 2 &&
        !nodes.includes("Disconnected")
      );
    });
    const after = await edgeWorkers();
    expect(after.map((w) => [w.index, w.pid, w.restarts])).toEqual(before.map((w) => [w.index, w.pid, 0]));
  }, 90_000);
});
