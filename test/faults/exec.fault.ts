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

const available = faultSuiteAvailable();
if (!available.ok) {
  if (process.env.CI) {
    test("fault suite prerequisites", () => {
      throw new Error(`the fault suite cannot run here: ${available.why}`);
    });
  } else process.stderr.write(`skipping the exec fault suite: ${available.why}\n`);
}

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
    const proc = Bun.spawn(net.spawnArgs("cloud", argv), {
      env: withoutProxy({ ...process.env, ...cleanEnv() }),
      stdin: input === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    if (input !== undefined && proc.stdin) {
      proc.stdin.write(input);
      await proc.stdin.end();
    }
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    const [code, stdout, stderr] = await Promise.all([
      proc.exited,
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    clearTimeout(timer);
    return { code, stdout, stderr };
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
    const cloudUrl = `http://${agents.address("cloud")}:7400`;
    agents.start("cloud", ["cloud"]);
    await until("the cloud API", async () => {
      const res = await net.probe("cloud", `${cloudUrl}/readyz`, 1000);
      return res.ok && res.status === 200;
    });
    agents.start("edge1", ["edge", "--cloud", cloudUrl, "--token", await agents.joinToken()]);
    await until("the edge to join", async () => (await ctl(["get", "nodes"])).includes("edge1"));
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
