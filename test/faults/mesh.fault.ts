// The mesh across a NAT-like network: a cloud and two edges in their own
// network namespaces, a service with workers on edge3; from edge1, through edge1's forward proxy,
// http://edge3:<port>/ is served on edge3 — directly, and also while nftables forbids any
// connection between edge1 and edge3 (then through the cloud's relay). Root only.
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
const PORT = 19400;

describe.skipIf(!available.ok)("mesh across a NAT-like network", () => {
  let net: TestNetwork;
  let agents: NetnsAgents;
  const address = (host: string) => net.host(host).address;
  const until = (what: string, check: () => Promise<boolean>) => agents.until(what, check, 30_000, 300);

  /** GET url from inside edge1 through edge1's forward proxy; the body, or the error. */
  async function viaEdge1Proxy(url: string): Promise<string> {
    const script = `const r = await fetch(${JSON.stringify(url)}, { proxy: "http://127.0.0.1:7403", signal: AbortSignal.timeout(8000) }); console.log(r.status + " " + (await r.text()));`;
    try {
      return (await net.exec("edge1", [BUN, "-e", script], { timeoutMs: 15_000 })).stdout.trim();
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1", "edge3"] });
    agents = new NetnsAgents(net, makeTempDir("levee-fault-mesh-"));
    agents.start("cloud", ["cloud", "--log-level", "debug"]);
    await until("the cloud API", async () => (await agents.ctl(["get", "nodes"])).includes("cloud"));
    const token = await agents.joinToken(2);
    for (const edge of ["edge1", "edge3"])
      agents.start(edge, [
        "edge",
        "--log-level",
        "debug",
        "--cloud",
        `http://${address("cloud")}:7400`,
        "--token",
        token,
      ]);
    await until("both edges joined", async () => {
      const nodes = await agents.ctl(["get", "nodes"]);
      return nodes.includes("edge1") && nodes.includes("edge3");
    });
    await agents.apply(
      {
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "who" },
        spec: {
          template: {
            command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
            port: "auto",
            health: { http: "/health", interval: "500ms" },
          },
          workers: [{ node: "edge3", replicas: 2 }],
          mesh: { port: PORT },
        },
      },
      ["--wait", "--timeout", "30s"],
    );
  }, 90_000);

  afterAll(async () => {
    await agents?.stop(3000);
    await net?.destroy();
  });

  test("a request waiting on a tunnel whose peer vanished fails in ~11 s (TCP keep-alive), not at the 60 s timeout", async () => {
    // A POST with its body (complete, not idempotent: not retried) to a worker that answers after 45 s.
    const script = `const started = performance.now();
      const r = await fetch("http://edge3:${PORT}/sleep?ms=45000", { method: "POST", body: "x", proxy: "http://127.0.0.1:7403", signal: AbortSignal.timeout(50000) });
      console.log(JSON.stringify({ status: r.status, seconds: (performance.now() - started) / 1000 }));`;
    const answer = net.exec("edge1", [BUN, "-e", script], { timeoutMs: 60_000 });
    await Bun.sleep(2000);
    // The request is sent and acknowledged; now every frame between the two is dropped silently.
    net.cut("edge1", "edge3");
    try {
      const result = JSON.parse((await answer).stdout.trim()) as { status: number; seconds: number };
      expect([502, 504]).toContain(result.status);
      expect(result.seconds).toBeLessThan(25);
      expect(result.seconds).toBeGreaterThan(8);
    } finally {
      net.heal("edge1", "edge3");
    }
  }, 70_000);

  test("edge1 → edge3 through the forward proxy: direct, then relayed while edge1↔edge3 is forbidden", async () => {
    let answer = "";
    await until("edge3 to answer through edge1's proxy", async () => {
      answer = await viaEdge1Proxy(`http://edge3:${PORT}/`);
      return answer.startsWith("200 ");
    });
    expect(JSON.parse(answer.slice(4)).node).toBe("edge3");

    expect((await viaEdge1Proxy(`http://edge3:${PORT}/`)).slice(0, 4)).toBe("200 ");
    // Let edge1's idle pooled tunnel connection to edge3 expire (4 s) before forbidding: nftables
    // starts connection tracking in the namespace only now, so the packets of a connection opened
    // before look "new" to it and would be dropped silently (a real NAT tracked it from the start).
    await Bun.sleep(5000);
    net.forbid("edge1", "edge3");
    net.forbid("edge3", "edge1");
    for (let i = 0; i < 3; i++) {
      const relayed = await viaEdge1Proxy(`http://edge3:${PORT}/`);
      if (!relayed.startsWith("200 ")) {
        throw new Error(
          `${relayed}\n${agents.logs
            .filter((l) => l.startsWith("edge1") && !/component=(sync|cloud|supervisor|node-sync)/.test(l))
            .slice(-50)
            .join("\n")}`,
        );
      }
      expect(JSON.parse(relayed.slice(4)).node).toBe("edge3");
    }
    expect(agents.logs.some((l) => l.startsWith("edge1:") && l.includes("relay"))).toBe(true);
  }, 60_000);
});
