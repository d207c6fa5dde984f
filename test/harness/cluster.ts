// Test harness: real levee processes on loopback addresses. A cluster gets its own /24 of
// 127.0.0.0/8 (cloud at .10, edges at .11, .12, ...), a temporary data dir per agent, its logs
// kept in memory (printed when a test fails), and is always cleaned up: stopped, data removed,
// and killed on process exit if a test forgot.
//
//   await withCluster({ edges: 2 }, async (c) => { await fetch(`${c.cloud.apiUrl}/readyz`) })
//
// LEVEE_TEST_BIN=/path/to/levee runs the agents from a compiled binary instead of the source.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type LaunchedAgent,
  launchAgent,
  requestJoinToken,
  stopAgent,
  waitReady,
} from "../../src/cli/agent-launcher.ts";

export const REPO_ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

/** Unsets the developer's own LEVEE_* variables so that they cannot change a test's outcome. */
export function cleanEnv(): Record<string, undefined> {
  const out: Record<string, undefined> = {};
  for (const key of Object.keys(process.env))
    if (key.startsWith("LEVEE_") && key !== "LEVEE_TEST_BIN") out[key] = undefined;
  return out;
}

/** How to run levee in tests: the compiled binary in LEVEE_TEST_BIN, else bun + the source. */
export function leveeCommand(): string[] {
  const bin = process.env.LEVEE_TEST_BIN;
  return bin ? [bin] : [BUN, join(REPO_ROOT, "src/cli/main.ts")];
}

export interface TestAgent {
  name: string;
  mode: "cloud" | "edge";
  address: string;
  dataDir: string;
  /** Local agent API, e.g. http://127.0.0.11:7401 */
  agentUrl: string;
  logs: string[];
  process: LaunchedAgent;
  /** Starts it again with the same data dir and flags (after stop() or a kill). */
  restart(options?: { waitReady?: boolean }): Promise<void>;
  stop(): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export interface TestCloud extends TestAgent {
  /** Cloud API, e.g. http://127.0.0.10:7400 */
  apiUrl: string;
  mqttUrl: string;
  /** The cloud's admin token (<data-dir>/admin.token), for API calls. */
  adminToken: string;
  /** fetch() against the cloud API with the admin token. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

export interface Cluster {
  subnet: string;
  cloud: TestCloud;
  edges: TestAgent[];
  all(): TestAgent[];
  printLogs(): void;
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  edges?: number;
  cloudArgs?: string[];
  edgeArgs?: string[];
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

const live = new Set<TestAgent>();
const tempDirs = new Set<string>();

/**
 * Kills agents a test left running and removes every temp dir. Runs after all tests (the
 * preload test/harness/cleanup.ts registers it: bun test does not run process "exit" handlers)
 * and on exit of other processes that use the harness.
 */
export function cleanupTestResources(): void {
  for (const agent of live) agent.kill("SIGKILL");
  live.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on("exit", cleanupTestResources);

let nextSubnet = 1 + (process.pid % 200);

/** A 127.0.N.0/24 whose cloud ports are free right now. */
export function allocateSubnet(): string {
  for (let tries = 0; tries < 250; tries++) {
    const n = nextSubnet;
    nextSubnet = nextSubnet >= 250 ? 1 : nextSubnet + 1;
    if (portsFree(`127.0.${n}.10`, [7400, 7401, 1883])) return `127.0.${n}`;
  }
  throw new Error("no free loopback subnet for a test cluster");
}

function portsFree(host: string, ports: number[]): boolean {
  for (const port of ports) {
    try {
      const server = Bun.listen({ hostname: host, port, socket: { data() {} } });
      server.stop(true);
    } catch {
      return false;
    }
  }
  return true;
}

export function makeTempDir(prefix = "levee-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

interface AgentSpec {
  name: string;
  mode: "cloud" | "edge";
  address: string;
  dataDir: string;
  args: string[];
  env?: Record<string, string>;
  readyTimeoutMs: number;
}

async function startAgent(spec: AgentSpec): Promise<TestAgent> {
  const agentUrl = `http://${spec.address}:7401`;
  const logs: string[] = [];
  const launch = () =>
    launchAgent({
      name: spec.name,
      command: leveeCommand(),
      args: [
        spec.mode,
        "--node-name",
        spec.name,
        "--bind-address",
        spec.address,
        "--data-dir",
        spec.dataDir,
        "--log-format",
        "text",
        "--log-level",
        "debug",
        ...spec.args,
      ],
      readyUrl: `${agentUrl}/readyz`,
      env: { ...cleanEnv(), ...spec.env },
      onLine: (line) => logs.push(line),
    });
  const agent: TestAgent = {
    name: spec.name,
    mode: spec.mode,
    address: spec.address,
    dataDir: spec.dataDir,
    agentUrl,
    logs,
    process: launch(),
    async restart(options = {}) {
      agent.process = launch();
      live.add(agent);
      if (options.waitReady !== false) await waitReady(agent.process, spec.readyTimeoutMs);
    },
    async stop() {
      const code = await stopAgent(agent.process);
      live.delete(agent);
      return code;
    },
    kill(signal = "SIGKILL") {
      agent.process.proc.kill(signal);
    },
  };
  live.add(agent);
  await waitReady(agent.process, spec.readyTimeoutMs);
  return agent;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const subnet = allocateSubnet();
  const root = makeTempDir();
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const started: TestAgent[] = [];
  const cluster: Cluster = {
    subnet,
    cloud: undefined as unknown as TestCloud,
    edges: [],
    all: () => [...started],
    printLogs() {
      for (const agent of started) {
        process.stderr.write(
          `----- logs of ${agent.name} (${agent.address}) -----\n${agent.logs.join("\n")}\n`,
        );
      }
    },
    async destroy() {
      await Promise.all(started.map((a) => a.stop()));
      rmSync(root, { recursive: true, force: true });
      tempDirs.delete(root);
    },
  };
  try {
    const cloudAddress = `${subnet}.10`;
    const cloud = await startAgent({
      name: "cloud",
      mode: "cloud",
      address: cloudAddress,
      dataDir: join(root, "cloud"),
      args: options.cloudArgs ?? [],
      readyTimeoutMs,
      ...(options.env ? { env: options.env } : {}),
    });
    started.push(cloud);
    cluster.cloud = Object.assign(cloud, {
      apiUrl: `http://${cloudAddress}:7400`,
      mqttUrl: `mqtt://${cloudAddress}:1883`,
      adminToken: "",
      api: (path: string, init: RequestInit = {}) =>
        fetch(`http://${cloudAddress}:7400${path}`, {
          ...init,
          headers: { authorization: `Bearer ${cluster.cloud.adminToken}`, ...(init.headers ?? {}) },
        }),
    });
    const edgeCount = options.edges ?? 0;
    cluster.cloud.adminToken = readFileSync(join(cloud.dataDir, "admin.token"), "utf8").trim();
    const joinToken =
      edgeCount > 0 ? await requestJoinToken(cluster.cloud.apiUrl, cluster.cloud.adminToken, edgeCount) : "";
    const edges = await Promise.all(
      Array.from({ length: edgeCount }, (_, i) =>
        startAgent({
          name: `edge${i + 1}`,
          mode: "edge",
          address: `${subnet}.${11 + i}`,
          dataDir: join(root, `edge${i + 1}`),
          args: ["--cloud", cluster.cloud.apiUrl, "--token", joinToken, ...(options.edgeArgs ?? [])],
          readyTimeoutMs,
          ...(options.env ? { env: options.env } : {}),
        }),
      ),
    );
    started.push(...edges);
    cluster.edges = edges;
    return cluster;
  } catch (err) {
    cluster.printLogs();
    await cluster.destroy();
    throw err;
  }
}

/** Runs fn with a fresh cluster; prints every agent's logs if fn throws; always cleans up. */
export async function withCluster<T>(
  options: ClusterOptions,
  fn: (cluster: Cluster) => Promise<T>,
): Promise<T> {
  const cluster = await startCluster(options);
  try {
    return await fn(cluster);
  } catch (err) {
    cluster.printLogs();
    throw err;
  } finally {
    await cluster.destroy();
  }
}

/** Runs `levee ARGS` to completion and returns its exit code and output. */
export async function runLevee(
  args: string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...leveeCommand(), ...args], {
    env: { ...process.env, ...cleanEnv(), ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    cwd: options.cwd ?? REPO_ROOT,
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 15_000);
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
