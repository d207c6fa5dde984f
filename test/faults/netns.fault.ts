// The netns harness, for real: a cloud (the real `levee cloud`) and two edges (tiny HTTP servers)
// in their own namespaces behind one bridge; cut, isolate and NAT-like forbid rules block exactly
// the links they name, and undo cleanly; destroy (and process exit) leave nothing behind.
// Root only. Named *.fault.ts so the default `bun test` never picks it up; run it with
// `npm run test:faults`. Without root/ip/nft it is skipped, or fails when CI is set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type LaunchedAgent, launchAgent } from "../../src/cli/agent-launcher.ts";
import { cleanEnv, leveeCommand, makeTempDir, REPO_ROOT } from "../harness/cluster.ts";
import {
  createTestNetwork,
  faultSuiteAvailable,
  run,
  sweepStaleNetworks,
  type TestNetwork,
  withoutProxy,
} from "../harness/netns.ts";

const available = faultSuiteAvailable();
if (!available.ok) {
  if (process.env.CI) {
    test("fault suite prerequisites", () => {
      throw new Error(`the fault suite cannot run here: ${available.why}`);
    });
  } else {
    process.stderr.write(`skipping the fault suite: ${available.why}\n`);
  }
}

const BLOCKED_MS = 1000; // a blocked request must fail within this (plus process start-up)
const REACH_MS = 3000;
// A one-line HTTP server answering its host name: argv[-2] address, argv[-1] name.
const ECHO_SERVER = `const [hostname, name] = process.argv.slice(-2);
Bun.serve({ hostname, port: 8080, fetch: () => new Response(name) });`;

/** Namespaces (from `ip netns list`) whose names start with prefix. */
function namespacesOf(prefix: string): string[] {
  return run(["ip", "netns", "list"])
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((ns) => ns.startsWith(prefix));
}

/** Whether pid runs (a zombie no longer does: it only waits for a parent to reap it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe.skipIf(!available.ok)("test networks: namespaces, a bridge and nftables", () => {
  let net: TestNetwork;
  let cloud: LaunchedAgent;
  const servers: Bun.Subprocess[] = [];
  const cloudLogs: string[] = [];
  const tempDirs: string[] = [];
  const tempDir = () => {
    tempDirs.push(makeTempDir("levee-fault-"));
    return tempDirs.at(-1) as string;
  };
  const url = (host: string) =>
    host === "cloud"
      ? `http://${net.host("cloud").address}:7400/readyz`
      : `http://${net.host(host).address}:8080/`;

  async function expectReach(from: string, to: string): Promise<void> {
    const res = await net.probe(from, url(to), REACH_MS);
    expect({ from, to, res }).toMatchObject({ res: { ok: true, status: 200 } });
  }
  async function expectBlocked(from: string, to: string): Promise<void> {
    const started = performance.now();
    const res = await net.probe(from, url(to), BLOCKED_MS);
    expect({ from, to, res }).toMatchObject({ res: { ok: false } });
    expect(performance.now() - started).toBeLessThan(BLOCKED_MS + 2000);
  }

  beforeAll(async () => {
    sweepStaleNetworks();
    net = await createTestNetwork({ hosts: ["cloud", "edge1", "edge2"] });
    const address = net.host("cloud").address;
    const dataDir = join(tempDir(), "cloud");
    cloud = launchAgent({
      name: "cloud",
      command: net.spawnArgs("cloud", leveeCommand()),
      args: [
        "cloud",
        "--node-name",
        "cloud",
        "--bind-address",
        address,
        "--log-format",
        "text",
        "--data-dir",
        dataDir,
      ],
      readyUrl: url("cloud"),
      env: cleanEnv(),
      onLine: (line) => cloudLogs.push(line),
    });
    for (const edge of ["edge1", "edge2"]) {
      const argv = [process.execPath, "-e", ECHO_SERVER, "--", net.host(edge).address, edge];
      servers.push(
        Bun.spawn(net.spawnArgs(edge, argv), { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"] }),
      );
    }
    // Ready when every server answers from another namespace (the test process itself cannot reach them).
    const deadline = performance.now() + 20_000;
    for (const [from, to] of [
      ["edge1", "cloud"],
      ["cloud", "edge1"],
      ["cloud", "edge2"],
    ] as const) {
      for (;;) {
        if (cloud.proc.exitCode !== null)
          throw new Error(`levee cloud exited early:\n${cloudLogs.join("\n")}`);
        const res = await net.probe(from, url(to), 1000);
        if (res.ok && res.status === 200) break;
        if (performance.now() > deadline)
          throw new Error(`${to} not reachable: ${JSON.stringify(res)}\n${cloudLogs.join("\n")}`);
        await Bun.sleep(100);
      }
    }
  }, 30_000);

  afterAll(async () => {
    await net?.destroy();
    // cluster.ts removes its temp dirs in an 'exit' listener, which `bun test` does not run
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  test("every host reaches every other one, and nothing beyond the network's /24", async () => {
    await Promise.all([
      expectReach("edge1", "cloud"),
      expectReach("edge2", "cloud"),
      expectReach("cloud", "edge1"),
      expectReach("edge2", "edge1"),
      expectReach("edge1", "edge2"),
    ]);
    const body = await net.probe("edge2", url("edge1"));
    expect(body).toEqual({ ok: true, status: 200, body: "edge1" });
    const routes = (await net.exec("edge1", ["ip", "-4", "route"])).stdout.trim().split("\n");
    expect(routes).toHaveLength(1);
    expect(routes[0]).toStartWith(`${net.subnet} dev eth0`);
  });

  test("cut drops one link both ways and leaves the others alone; heal restores it", async () => {
    net.cut("edge1", "cloud");
    net.cut("cloud", "edge1"); // idempotent, either order
    await Promise.all([
      expectBlocked("edge1", "cloud"),
      expectBlocked("cloud", "edge1"),
      expectReach("edge2", "cloud"),
      expectReach("edge2", "edge1"),
      expectReach("edge1", "edge2"),
    ]);
    net.heal("cloud", "edge1");
    net.heal("edge1", "cloud");
    await Promise.all([expectReach("edge1", "cloud"), expectReach("cloud", "edge1")]);
  });

  test("isolate cuts a host from everyone; rejoin brings it back", async () => {
    net.isolate("edge1");
    await Promise.all([
      expectBlocked("edge1", "cloud"),
      expectBlocked("cloud", "edge1"),
      expectBlocked("edge2", "edge1"),
      expectReach("edge2", "cloud"),
    ]);
    net.rejoin("edge1");
    await Promise.all([
      expectReach("edge1", "cloud"),
      expectReach("edge2", "edge1"),
      expectReach("cloud", "edge1"),
    ]);
  });

  test("forbid is NAT-like: no new connections towards the host, its own ones still work", async () => {
    net.forbid("cloud", "edge1");
    await Promise.all([
      expectBlocked("cloud", "edge1"),
      expectReach("edge1", "cloud"),
      expectReach("edge2", "edge1"),
    ]);
    net.allow("cloud", "edge1");
    await expectReach("cloud", "edge1");
    // edges behind NATs: they cannot reach each other, but both reach the cloud
    net.forbid("edge1", "edge2");
    net.forbid("edge2", "edge1");
    await Promise.all([
      expectBlocked("edge1", "edge2"),
      expectBlocked("edge2", "edge1"),
      expectReach("edge1", "cloud"),
      expectReach("edge2", "cloud"),
    ]);
    net.allow("edge1", "edge2");
    net.allow("edge2", "edge1");
    await Promise.all([expectReach("edge1", "edge2"), expectReach("edge2", "edge1")]);
  });

  test("failing commands throw with the command and its stderr; bad host names are refused", async () => {
    const failure = net.exec("edge1", ["ip", "link", "set", "nosuchdev", "up"]);
    await expect(failure).rejects.toThrow(
      `ip netns exec ${net.host("edge1").namespace} ip link set nosuchdev up`,
    );
    await expect(failure).rejects.toThrow(/Cannot find device/);
    expect(() => net.cut("edge1", "nobody")).toThrow(/no host "nobody"/);
    await expect(createTestNetwork({ hosts: ["Edge-1"] })).rejects.toThrow(/host name/);
  });

  test("a process that forgets destroy() leaves nothing behind, however it ends", async () => {
    const harness = JSON.stringify(join(REPO_ROOT, "test/harness/netns.ts"));
    const body = `const net = await createTestNetwork({ hosts: ["a", "b"] });
const sleeper = Bun.spawn(net.spawnArgs("a", ["sh", "-c", "echo; exec sleep 600"]), { stderr: "ignore" });
sleeper.unref();
await sleeper.stdout.getReader().read(); // it runs inside the namespace now
console.log("network", net.name, sleeper.pid);`;
    const script = (end: string) =>
      `const { createTestNetwork } = await import(${harness});\n${body}\n${end}`;
    // `bun test` runs no 'exit' listeners: there the janitor child does the work
    const dir = tempDir();
    await Bun.write(
      join(dir, "forgets.test.ts"),
      `import { test } from "bun:test";\ntest("forgets", async () => {\n${script("")}\n});\n`,
    );
    const cases: [string[], number | string][] = [
      [["-e", script("process.exit(3);")], 3],
      [["-e", script('throw new Error("boom");')], 1],
      [["-e", script('process.kill(process.pid, "SIGTERM");')], "SIGTERM"],
      [["-e", script('process.kill(process.pid, "SIGKILL");')], "SIGKILL"],
      [["test", "./forgets.test.ts"], 0],
    ];
    const results = await Promise.all(
      cases.map(async ([args, expected]) => {
        const child = Bun.spawn([process.execPath, ...args], {
          cwd: dir,
          env: withoutProxy(process.env),
          stderr: "pipe",
        });
        const [stdout, stderr] = await Promise.all([
          new Response(child.stdout).text(),
          new Response(child.stderr).text(),
        ]);
        await child.exited;
        const [, name = "", pid = "0"] = /network (\S+) (\d+)/.exec(stdout) ?? [];
        return {
          args: args.at(-1),
          exit: child.exitCode ?? child.signalCode,
          expected,
          name,
          pid: Number(pid),
          stderr,
        };
      }),
    );
    for (const r of results)
      expect(r).toMatchObject({ exit: r.expected, name: expect.stringMatching(/^lvt-/) });
    // the janitor needs a moment after its parent died
    const leftovers = () => results.filter((r) => namespacesOf(r.name).length > 0 || alive(r.pid));
    for (let i = 0; i < 50 && leftovers().length > 0; i++) await Bun.sleep(100);
    expect(leftovers()).toEqual([]);
  });

  test("destroy kills what runs inside, removes every namespace and link, and is idempotent", async () => {
    expect(namespacesOf(net.name)).toHaveLength(4);
    expect([cloud.proc, ...servers].map((p) => p.exitCode)).toEqual([null, null, null]);
    await net.destroy();
    await net.destroy();
    expect(namespacesOf(net.name)).toEqual([]);
    await Promise.all([cloud.exited, ...servers.map((s) => s.exited)]);
    expect([cloud.proc, ...servers].map((p) => p.signalCode)).toEqual(["SIGKILL", "SIGKILL", "SIGKILL"]);
    // every link lived inside the namespaces; none was ever in (or is left in) the host's
    expect(run(["ip", "-o", "link", "show"])).not.toMatch(/\bv-(cloud|edge1|edge2)\b/);
  });
});
