// Test harness: real levee processes on loopback addresses. A cluster gets its own /24 of
// 127.0.0.0/8 (cloud at .10, edges at .11, .12, ..., a Mosquitto at .5 when asked for), a
// temporary data dir per agent, its logs kept in memory (printed when a test fails), and is always
// cleaned up: stopped, data removed, and killed on process exit if a test forgot.
//
//   await withCluster({ edges: 2 }, async (c) => { await fetch(`${c.cloud.apiUrl}/readyz`) })
//   await withCluster({ edges: 2, broker: "mosquitto" }, ...)   // or LEVEE_TEST_BROKER=mosquitto
//
// With Mosquitto the cluster starts the way a user sets one up: the cloud with --mqtt-url (its API
// answers before the broker is reachable), `levee ctl broker-config mosquitto` writes the password
// and ACL files, Mosquitto starts on them; after the edges joined the files are written again and
// Mosquitto reloaded (SIGHUP), then the edges connect.
//
// LEVEE_TEST_BIN=/path/to/levee runs the agents from a compiled binary instead of the source.
import { expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestJoinToken, waitReady } from "../../src/cli/agent-launcher.ts";
import { killLiveAgents, startAgent, type TestAgent } from "./agent.ts";
import {
  type BrokerKind,
  cleanupMosquittos,
  createMosquitto,
  defaultBroker,
  type TestBroker,
  testBroker,
  writeBrokerFiles,
} from "./mosquitto.ts";
import { BUN, REPO_ROOT, waitUntil } from "./process.ts";

import { killWorkersUnder } from "./workers.ts";

export type { TestAgent } from "./agent.ts";
export type { BrokerKind, TestBroker } from "./mosquitto.ts";
export { BUN, canConnect, cleanEnv, leveeCommand, REPO_ROOT, runLevee, waitUntil } from "./process.ts";

/** The test HTTP worker: a small server with /health, /env, /file, ... (test/fixtures/http-worker.ts). */
export const HTTP_WORKER = join(REPO_ROOT, "test/fixtures/http-worker.ts");

/**
 * A Service of the test HTTP worker, as a JSON manifest: port auto, an HTTP health check every
 * second; `template` adds its fields to that template (and replaces the ones it names).
 */
export function httpWorkerService(
  name: string,
  workers: unknown[],
  template: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name },
    spec: {
      template: {
        command: [BUN, HTTP_WORKER],
        port: "auto",
        health: { http: "/health", interval: "1s", timeout: "1s" },
        ...template,
      },
      workers,
    },
  });
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
  broker: TestBroker;
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
  /** Default: LEVEE_TEST_BROKER, else embedded. */
  broker?: BrokerKind;
  /** Use this 127.0.N (from allocateSubnet()) instead of allocating one, e.g. to make a certificate for it first. */
  subnet?: string;
  /** The cloud's node name (default "cloud"). */
  cloudName?: string;
  /** The edges' node names (default edge1, edge2, ...; a name for each of `edges`). */
  edgeNames?: string[];
  /** What runs each agent, by node name (default LEVEE_TEST_BIN or bun + the source). */
  command?: (name: string) => string[];
}

const tempDirs = new Set<string>();

/**
 * Kills agents a test left running and removes every temp dir. Runs after all tests (the
 * preload test/harness/cleanup.ts registers it: bun test does not run process "exit" handlers)
 * and on exit of other processes that use the harness.
 */
export function cleanupTestResources(): void {
  killLiveAgents();
  killWorkersUnder(tempDirs);
  cleanupMosquittos();
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
    if (portsFree(`127.0.${n}.10`, [7400, 7401, 1883]) && portsFree(`127.0.${n}.5`, [1883]))
      return `127.0.${n}`;
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

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const subnet = options.subnet ?? allocateSubnet();
  const root = makeTempDir();
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const cloudAddress = `${subnet}.10`;
  const cloudDataDir = join(root, "cloud");
  const mosquitto =
    (options.broker ?? defaultBroker()) === "mosquitto"
      ? createMosquitto({ address: `${subnet}.5`, port: 1883, dir: makeTempDir("levee-mosquitto-") })
      : undefined;
  const started: TestAgent[] = [];
  const cluster: Cluster = {
    subnet,
    cloud: undefined as unknown as TestCloud,
    edges: [],
    broker: testBroker(mosquitto, cloudDataDir, `mqtt://${cloudAddress}:1883`),
    all: () => [...started],
    printLogs() {
      for (const agent of started) {
        process.stderr.write(
          `----- logs of ${agent.name} (${agent.address}) -----\n${agent.logs.join("\n")}\n`,
        );
      }
      if (mosquitto) process.stderr.write(`----- mosquitto (${mosquitto.url}) -----\n${mosquitto.log()}\n`);
    },
    async destroy() {
      await Promise.all(started.map((a) => a.stop()));
      killWorkersUnder([root]);
      await mosquitto?.stop();
      rmSync(root, { recursive: true, force: true });
      tempDirs.delete(root);
      if (mosquitto) {
        rmSync(mosquitto.dir, { recursive: true, force: true });
        tempDirs.delete(mosquitto.dir);
      }
    },
  };
  try {
    const cloud = await startAgent({
      name: options.cloudName ?? "cloud",
      mode: "cloud",
      address: cloudAddress,
      dataDir: cloudDataDir,
      ...(options.command ? { command: options.command(options.cloudName ?? "cloud") } : {}),
      args: [...(mosquitto ? ["--mqtt-url", mosquitto.url] : []), ...(options.cloudArgs ?? [])],
      readyTimeoutMs,
      // With Mosquitto the cloud is ready only once the broker runs, which needs its files first.
      wait: !mosquitto,
      ...(options.env ? { env: options.env } : {}),
    });
    started.push(cloud);
    if (mosquitto) {
      await writeBrokerFiles(cloudDataDir, mosquitto.dir);
      await mosquitto.start();
      await waitReady(cloud.process, readyTimeoutMs);
    }
    cluster.cloud = Object.assign(cloud, {
      apiUrl: `http://${cloudAddress}:7400`,
      mqttUrl: cluster.broker.url,
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
      Array.from({ length: edgeCount }, (_, i) => options.edgeNames?.[i] ?? `edge${i + 1}`).map((name, i) =>
        startAgent({
          name,
          mode: "edge",
          address: `${subnet}.${11 + i}`,
          // A node name is a DNS subdomain: always one file name.
          dataDir: join(root, name),
          ...(options.command ? { command: options.command(name) } : {}),
          args: ["--cloud", cluster.cloud.apiUrl, "--token", joinToken, ...(options.edgeArgs ?? [])],
          readyTimeoutMs,
          // With Mosquitto an edge can connect only after the files know its password.
          wait: !mosquitto,
          ...(options.env ? { env: options.env } : {}),
        }),
      ),
    );
    started.push(...edges);
    cluster.edges = edges;
    if (mosquitto && edges.length > 0) {
      const names = edges.map((e) => e.name);
      await waitUntil(
        `edges ${names.join(", ")} to join`,
        async () => {
          const res = await cluster.cloud.api("/api/v1/nodes");
          const joined = new Set(
            ((await res.json()) as { items: { metadata: { name: string } }[] }).items.map(
              (n) => n.metadata.name,
            ),
          );
          return names.every((n) => joined.has(n));
        },
        readyTimeoutMs,
      );
      await cluster.broker.sync();
      await Promise.all(edges.map((e) => waitReady(e.process, readyTimeoutMs)));
    }
    return cluster;
  } catch (err) {
    cluster.printLogs();
    await cluster.destroy();
    throw err;
  }
}

/**
 * For suites sharing one cluster: wraps a test body so that a failure prints every agent's logs.
 *   const step = loggedStep(() => c);   test("...", step(async () => { ... }));
 */
export function loggedStep(cluster: () => Cluster | undefined) {
  return (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (err) {
      cluster()?.printLogs();
      throw err;
    }
  };
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

/**
 * POST /api/v1/apply on the cluster's cloud, expecting 200 (the answer is the failure's message).
 * Without `contentType` the cloud tells YAML from JSON by the body.
 */
export async function applyManifest(c: Cluster, body: string, contentType?: string): Promise<void> {
  const res = await c.cloud.api("/api/v1/apply", {
    method: "POST",
    ...(contentType ? { headers: { "content-type": contentType } } : {}),
    body,
  });
  expect(res.status, await res.text()).toBe(200);
}

/** Whether every agent of the cluster serves GET /v1/routes/SERVICE with all its routes applied. */
export async function routesApplied(c: Cluster, service: string): Promise<boolean> {
  for (const agent of c.all()) {
    const res = await fetch(`${agent.agentUrl}/v1/routes/${service}`).catch(() => undefined);
    if (!res?.ok) return false;
    const body = (await res.json()) as { items: { state: string }[] };
    if (!body.items.every((r) => r.state === "applied")) return false;
  }
  return true;
}
