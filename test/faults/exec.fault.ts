// `levee ctl exec` to a node the cloud cannot reach: a cloud and an edge in their own network
// namespaces, nftables forbidding every connection from the cloud to the edge (NAT-like: the edge
// still connects out). The exec request reaches the edge over its own MQTT connection, the edge
// connects its session socket back to the cloud, and the client gets the output, the exit code
// and its stdin through. Root only (npm run test:faults).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanEnv, leveeCommand, makeTempDir } from "../harness/cluster.ts";
import {
  createTestNetwork,
  faultSuiteAvailable,
  sweepStaleNetworks,
  type TestNetwork,
  withoutProxy,
} from "../harness/netns.ts";
import { NetnsAgents } from "../harness/netns-agents.ts";
import { runCommand } from "../harness/process.ts";

const available = faultSuiteAvailable();
if (!available.ok) process.stderr.write(`skipping the exec fault suite: ${available.why}\n`);

describe.skipIf(!available.ok)("exec to a node behind NAT", () => {
  let net: TestNetwork;
  let agents: NetnsAgents;
  const ctl = (args: string[]) => agents.ctl(args);
  const until = (what: string, check: () => Promise<boolean>) => agents.until(what, check);

  /** `levee ctl exec ARGS` from the cloud's namespace, with `input` on stdin; never throws. */
  async function exec(args: string[], input?: string) {
    const argv = [
      ...leveeCommand(),
      "ctl",
      "exec",
      "--server",
      `http://${agents.address("cloud")}:7400`,
      "--token-file",
      join(agents.dataDir("cloud"), "admin.token"),
      ...args,
    ];
    const env = withoutProxy({ ...process.env, ...cleanEnv() });
    return runCommand(net.spawnArgs("cloud", argv), { env, input, timeoutMs: 30_000 });
  }

  /** Whether a TCP connection from the cloud's namespace to host:port opens within 2 s. */
  async function cloudCanConnect(host: string, port: number): Promise<boolean> {
    const script = `const s = require("node:net").connect(${port}, "${host}");
      s.on("connect", () => { console.log("yes"); process.exit(0); });
      s.on("error", () => { console.log("no"); process.exit(0); });
      setTimeout(() => { console.log("no"); process.exit(0); }, 2000);`;
    const { stdout } = await net.exec("cloud", [process.execPath, "-e", script]);
    return stdout.trim() === "yes";
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1"] });
    agents = new NetnsAgents(net, makeTempDir("levee-fault-exec-"));
    await agents.startCloudAndEdges(["edge1"]);
    await agents.apply({
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "shell" },
      spec: {
        template: { command: ["sleep", "3600"], env: { GREETING: "behind NAT" } },
        workers: [{ node: "edge1", replicas: 1 }],
      },
    });
    await until("the worker ready", async () => {
      const workers = JSON.parse(await ctl(["get", "workers", "-o", "json"])) as {
        items: { ready: boolean }[];
      };
      return workers.items.length === 1 && workers.items.every((w) => w.ready);
    });
  }, 60_000);

  afterAll(async () => {
    await agents?.stop(2000);
    await net?.destroy();
  });

  test("output, exit code and stdin through the cloud while the cloud cannot connect to the edge", async () => {
    // The edge's mesh tunnel port listens on its address: the cloud connects to it, until forbidden.
    expect(await cloudCanConnect(agents.address("edge1"), 7402)).toBe(true);
    net.forbid("cloud", "edge1");
    expect(await cloudCanConnect(agents.address("edge1"), 7402)).toBe(false);
    const r = await exec([
      "shell",
      "--node",
      "edge1",
      "--",
      "sh",
      "-c",
      'echo "out $GREETING"; echo err >&2; exit 3',
    ]);
    expect(r).toEqual({ code: 3, stdout: "out behind NAT\n", stderr: "err\n" });
    const piped = await exec(["shell", "--node", "edge1", "-i", "--", "cat"], "through the cloud\n");
    expect(piped).toEqual({ code: 0, stdout: "through the cloud\n", stderr: "" });
  }, 60_000);
});
