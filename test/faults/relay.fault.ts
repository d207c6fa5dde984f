// The mesh transport on a real network: a cloud running the relay and two edges, each in its own
// network namespace (test/harness/netns.ts). edge1 dials edge2's echo service: directly while it
// may, through the relay while nftables forbids edge1 → edge2 connections (NAT-like), byte-exact
// both ways, and without paying the direct timeout again on the next dial.
// Root only; `npm run test:faults`. Without root/ip/nft it is skipped, or fails when CI is set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/cluster.ts";
import {
  createTestNetwork,
  faultSuiteAvailable,
  sweepStaleNetworks,
  type TestNetwork,
} from "../harness/netns.ts";
import { testCa } from "../mesh/transport/fixtures.ts";

const available = faultSuiteAvailable();
if (!available.ok) {
  if (process.env.CI) {
    test("fault suite prerequisites", () => {
      throw new Error(`the fault suite cannot run here: ${available.why}`);
    });
  } else {
    process.stderr.write(`skipping the relay fault suite: ${available.why}\n`);
  }
}

const NODE_SCRIPT = join(REPO_ROOT, "test/mesh/transport/netns-node.ts");
const PORT = 7402;

interface DialResult {
  dials: { ms: number; exact: boolean }[];
  stats: { direct: number; relayed: number; failed: number };
  directDown: boolean;
  error?: string;
}

describe.skipIf(!available.ok)("relay through network namespaces", () => {
  let net: TestNetwork;
  const ca = testCa();
  const procs: Bun.Subprocess[] = [];
  const address = (host: string) => net.host(host).address;
  const relay = () => ({ host: address("cloud"), port: PORT });

  async function start(host: string, config: object): Promise<void> {
    const proc = Bun.spawn(net.spawnArgs(host, [process.execPath, NODE_SCRIPT, JSON.stringify(config)]), {
      cwd: REPO_ROOT,
      stdout: "pipe",
      stderr: "inherit",
    });
    procs.push(proc);
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    expect(new TextDecoder().decode(value)).toContain("ready");
  }

  async function dial(bytes: number, dials: number): Promise<DialResult> {
    const config = {
      role: "dial",
      node: "edge1",
      tls: ca.node("edge1", [address("edge1")]),
      relay: relay(),
      target: { node: "edge2", address: address("edge2"), port: PORT },
      bytes,
      dials,
    };
    const { stdout } = await net.exec("edge1", [process.execPath, NODE_SCRIPT, JSON.stringify(config)], {
      timeoutMs: 60_000,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as DialResult;
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1", "edge2"] });
    await start("cloud", {
      role: "relay",
      node: "cloud",
      tls: ca.node("cloud", [address("cloud")]),
      listen: { host: address("cloud"), port: PORT },
    });
    await start("edge2", {
      role: "edge",
      node: "edge2",
      tls: ca.node("edge2", [address("edge2")]),
      listen: { host: address("edge2"), port: PORT },
      relay: relay(),
    });
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) p.kill("SIGKILL");
    await net?.destroy();
  });

  test("direct while edge1 may reach edge2", async () => {
    const result = await dial(1024 * 1024, 1);
    expect(result.error).toBeUndefined();
    expect(result.stats).toMatchObject({ direct: 1, relayed: 0 });
    expect(result.dials.every((d) => d.exact)).toBe(true);
  }, 60_000);

  test("edge1 → edge2 forbidden: 8 MB through the relay, byte-exact; the next dial goes straight to it", async () => {
    net.forbid("edge1", "edge2");
    try {
      const result = await dial(8 * 1024 * 1024, 2);
      expect(result.error).toBeUndefined();
      expect(result.stats).toMatchObject({ direct: 0, relayed: 2 });
      expect(result.directDown).toBe(true);
      expect(result.dials.map((d) => d.exact)).toEqual([true, true]);
      // the first dial waited for the direct budget (1 s); the second did not
      expect(result.dials[0]?.ms).toBeGreaterThan(900);
      expect(result.dials[1]?.ms).toBeLessThan(900);
    } finally {
      net.allow("edge1", "edge2");
    }
  }, 60_000);
});
