// Random partitions of a cloud and three edges (network namespaces + nftables) under continuous
// applies and mesh traffic, judged by the invariant checker (invariants.ts): no acknowledged update
// lost, no duplicate worker, no worker restarted because of a reconnect, mesh requests fail only
// when no route exists, and how fast everything converges after each heal. Cuts: a single link
// (cloud↔edge, both ways), an edge isolated from everyone, the cloud isolated from every edge,
// asymmetric (the edge cannot open
// connections to the cloud, or the cloud to the edge), flapping (a link cut and healed three times
// in a second), and a reset (the link cut and every connection between the two torn down, as a NAT
// that lost its state does: the edge reconnects; a short cut alone outlives no MQTT keepalive). Short profile in `npm run test:faults` (LEVEE_FAULT_CUTS, default 24); the
// long one: `LEVEE_FAULT_CUTS=120 bun test --timeout 3600000 test/faults/partitions.fault.ts`.
// Root only.
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
import { check, type Observations } from "./invariants.ts";
import { seededRandom, workerProcesses } from "./observe.ts";

const available = faultSuiteAvailable();
const CUTS = Number(process.env.LEVEE_FAULT_CUTS ?? 24);
const EDGES = ["edge1", "edge2", "edge3"];
const PORT = 19500;
/** A request that fails this close to a cut or heal is the cut's (connections in flight, TCP). */
const GRACE_MS = 1500;

/** The MARK env of the bump worker on each node (the generation it runs). */
function marks(root: string): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const key of workerProcesses([root], "MARK").keys()) {
    const [node, service, , mark] = key.split("/");
    if (service === "bump" && node) out[node] = mark ? Number(mark) : undefined;
  }
  return out;
}

describe.skipIf(!available.ok)("random partitions under load", () => {
  let net: TestNetwork;
  let agents: NetnsAgents;
  const until = (what: string, ok: () => Promise<boolean>, ms = 30_000) => agents.until(what, ok, ms, 200);
  const cloudUrl = () => `http://${agents.address("cloud")}:7400`;

  async function converged(): Promise<boolean> {
    const nodes = JSON.parse(await agents.ctl(["get", "nodes", "-o", "json"])) as {
      items: {
        metadata: { name: string };
        status: { phase: string; plan: { desiredRevision: number; appliedRevision: number } };
      }[];
    };
    return nodes.items.every(
      (n) => n.status.phase === "Ready" && n.status.plan.appliedRevision === n.status.plan.desiredRevision,
    );
  }

  const service = (name: string, template: Record<string, unknown>, mesh?: Record<string, unknown>) => ({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: { template, workers: EDGES.map((node) => ({ node })), ...(mesh ? { mesh } : {}) },
  });
  const sleeper = (env: Record<string, string> = {}) => ({ command: ["sh", "-c", "exec sleep 100000"], env });

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", ...EDGES] });
    agents = new NetnsAgents(net, makeTempDir("levee-fault-partitions-"));
    agents.start("cloud", ["cloud"]);
    await until("the cloud API", async () => (await net.probe("cloud", `${cloudUrl()}/readyz`, 1000)).ok);
    const token = await agents.joinToken(EDGES.length);
    for (const edge of EDGES) agents.start(edge, ["edge", "--cloud", cloudUrl(), "--token", token]);
    await until("the edges joined", async () => {
      const nodes = await agents.ctl(["get", "nodes"]);
      return EDGES.every((e) => nodes.includes(e));
    });
    await agents.apply(service("steady", sleeper()));
    await agents.apply(service("bump", sleeper({ MARK: "0" })));
    await agents.apply(
      service(
        "web",
        {
          command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")],
          port: "auto",
          health: { http: "/health", interval: "500ms" },
        },
        { port: PORT },
      ),
      ["--wait", "--timeout", "60s"],
    );
    await until("everything converged", converged, 60_000);
  }, 120_000);

  afterAll(async () => {
    await agents?.stop(3000);
    await net?.destroy();
  });

  test(`${CUTS} random cuts and heals: the invariants hold`, async () => {
    const seed = Number(process.env.LEVEE_FAULT_SEED ?? Date.now() % 100000);
    const rand = seededRandom(seed);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)] as T;
    const steadyStart: Record<string, number> = {};
    for (const [key, pids] of workerProcesses([agents.root]))
      if (key.includes("/steady/")) steadyStart[key] = pids[0] as number;
    expect(Object.keys(steadyStart)).toHaveLength(3);

    const o: Observations = {
      acknowledged: [0],
      finalGeneration: {},
      processScans: [],
      steadyPids: { start: steadyStart, end: {} },
      requests: [],
      cutWindows: Object.fromEntries(EDGES.map((e) => [e, []])),
      convergenceMs: [],
    };
    let running = true;
    // Continuous applies of `bump` (a new MARK each time) and mesh traffic from the cloud's host.
    const applies = (async () => {
      let mark = 1;
      while (running) {
        const file = join(agents.root, "bump.json");
        await Bun.write(file, JSON.stringify(service("bump", sleeper({ MARK: String(mark) }))));
        const ok = await agents.ctl(["apply", "-f", file]).then(
          () => true,
          () => false,
        );
        if (ok) o.acknowledged.push(mark);
        mark++;
        await Bun.sleep(400);
      }
    })();
    const traffic = (async () => {
      while (running) {
        await Promise.all(
          EDGES.map(async (node) => {
            const at = Date.now();
            const res = await net.probe("cloud", `http://${agents.address(node)}:${PORT}/`, 1000);
            o.requests.push({ at, node, ok: res.ok && res.status === 200 });
          }),
        );
        await Bun.sleep(250);
      }
    })();

    for (let i = 0; i < CUTS; i++) {
      const edge = pick(EDGES);
      const kind = pick([
        "link",
        "isolate",
        "cloud",
        "edge-cannot-dial",
        "cloud-cannot-dial",
        "flap",
        "reset",
      ] as const);
      const from = Date.now();
      const hold = 300 + Math.floor(rand() * 1700);
      if (kind === "link" || kind === "reset") net.cut("cloud", edge);
      if (kind === "reset") {
        await net.exec(edge, ["ss", "-K", "dst", agents.address("cloud")]);
        await net.exec("cloud", ["ss", "-K", "dst", agents.address(edge)]);
      }
      if (kind === "isolate") net.isolate(edge);
      if (kind === "cloud") net.isolate("cloud");
      if (kind === "edge-cannot-dial") net.forbid(edge, "cloud");
      if (kind === "cloud-cannot-dial") net.forbid("cloud", edge);
      if (kind === "flap") {
        for (let f = 0; f < 3; f++) {
          net.cut("cloud", edge);
          await Bun.sleep(150);
          net.heal("cloud", edge);
          await Bun.sleep(150);
        }
      } else await Bun.sleep(hold);
      if (kind === "link" || kind === "reset") net.heal("cloud", edge);
      if (kind === "isolate") net.rejoin(edge);
      if (kind === "cloud") net.rejoin("cloud");
      if (kind === "edge-cannot-dial") net.allow(edge, "cloud");
      if (kind === "cloud-cannot-dial") net.allow("cloud", edge);
      const to = Date.now();
      // The cloud's requests to the edge had no path while the link was down or the edge isolated
      // (every edge, when the cloud was).
      if (kind === "cloud") for (const e of EDGES) o.cutWindows[e]?.push({ from, to });
      else if (kind !== "edge-cannot-dial") o.cutWindows[edge]?.push({ from, to });
      const healed = performance.now();
      await until(`convergence after cut ${i} (${kind} ${edge})`, converged, 30_000);
      o.convergenceMs.push(performance.now() - healed);
      for (const [key, pids] of workerProcesses([agents.root])) {
        const [node, svc, index] = key.split("/");
        o.processScans.push({
          at: Date.now(),
          node: node ?? "",
          worker: `${svc}/${index}`,
          count: pids.length,
        });
      }
    }

    running = false;
    await Promise.all([applies, traffic]);
    await until("the last apply everywhere", async () => {
      if (!(await converged())) return false;
      const m = marks(agents.root);
      return EDGES.every((e) => m[e] === o.acknowledged.at(-1));
    });
    o.finalGeneration = marks(agents.root);
    for (const [key, pids] of workerProcesses([agents.root]))
      if (key.includes("/steady/")) o.steadyPids.end[key] = pids[0];

    const verdict = check(o, GRACE_MS);
    const summary = {
      seed,
      cuts: CUTS,
      applies: o.acknowledged.length - 1,
      requests: o.requests.length,
      failedRequests: o.requests.filter((r) => !r.ok).length,
      convergence: verdict.convergence,
    };
    process.stderr.write(`partitions: ${JSON.stringify(summary)}\n`);
    expect(verdict.lostUpdates).toEqual([]);
    expect(verdict.duplicates).toEqual([]);
    expect(verdict.restartedByReconnect).toEqual([]);
    expect(verdict.unroutedFailures).toEqual([]);
    // Convergence is a figure (RELIABILITY.md), not a timed assertion: this machine is shared.
  }, 1_800_000);
});
