// Workers across a broken link (docs/PROTOCOL.md, "Reconnect"): a cloud and an edge in their own network
// namespaces, two exec workers on the edge; the edge is isolated from everyone for 30 s while
// its workers keep serving, then healed: zero worker restarts, the same pids, and the cloud sees
// them ready again. Root only (npm run test:faults).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, makeTempDir, REPO_ROOT } from "../harness/cluster.ts";
import {
  createTestNetwork,
  faultSuiteAvailable,
  sweepStaleNetworks,
  type TestNetwork,
} from "../harness/netns.ts";
import { NetnsAgents } from "../harness/netns-agents.ts";

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
  let agents: NetnsAgents;
  const ctl = (args: string[]) => agents.ctl(args);
  const until = (what: string, check: () => Promise<boolean>) => agents.until(what, check);

  async function edgeWorkers(): Promise<AgentWorker[]> {
    // The agent API is on loopback inside edge1's namespace.
    const res = await net.probe("edge1", "http://127.0.0.1:7401/v1/workers", 2000);
    if (!res.ok) throw new Error(`agent API: ${res.error}`);
    return (JSON.parse(res.body) as { items: AgentWorker[] }).items;
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1"] });
    agents = new NetnsAgents(net, makeTempDir("levee-fault-workers-"));
    await agents.startCloudAndEdges(["edge1"]);
    await agents.apply({
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
    });
  }, 60_000);

  afterAll(async () => {
    await agents?.stop(2000);
    await net?.destroy();
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
