// The cloud API in this process: the hono app over a real store in a temp dir, a ControlPlane, no
// broker (and no socket unless the test serves app.fetch itself). What the API tests under
// test/cloud and test/edge set up; each adds what its routes need (artifacts, log streams).
import type { Hono } from "hono";
import { type CloudApiDeps, cloudApiApp } from "../../src/cloud/api/app.ts";
import { ArtifactStore } from "../../src/cloud/artifact-store.ts";
import { takeBackup } from "../../src/cloud/backup.ts";
import { ControlPlane } from "../../src/cloud/control-plane.ts";
import { ExecSessions } from "../../src/cloud/exec-sessions.ts";
import { LogStreams } from "../../src/cloud/log-streams.ts";
import { loadOrCreateNodeCa } from "../../src/cloud/node-ca.ts";
import { joinNode } from "../../src/cloud/node-registry.ts";
import type { NodeLimits } from "../../src/cloud/plan-limits.ts";
import { loadOrCreatePlanSigner } from "../../src/cloud/plan-signing-key.ts";
import type { PlanChange } from "../../src/cloud/plan-writer.ts";
import { UpgradeDriver } from "../../src/cloud/upgrade/upgrade-driver.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { Readiness } from "../../src/runtime/health.ts";
import { createLogger, type Logger } from "../../src/runtime/log.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { makeTempDir } from "./cluster.ts";

export const ADMIN_TOKEN = "lvadm_test-token-that-is-long-enough-0123456789";

export interface InProcessCloud {
  store: Store;
  log: Logger;
  plane: ControlPlane;
  app: Hono;
}

export interface InProcessCloudOptions {
  /** Default: a new store in a temp dir. */
  store?: Store;
  /** Default: errors only, written nowhere. */
  log?: Logger;
  onPlansChanged?: (changes: PlanChange[]) => void;
  /** Replan when a node joins, as the cloud agent does (default true). */
  replanOnJoin?: boolean;
  /** The API's other dependencies (artifacts, logs...). */
  deps?: Partial<CloudApiDeps>;
  /** Per-node plan limits (default: the cloud's defaults). */
  limits?: NodeLimits;
  /** Generations kept per Service and Dayu object (default: the cloud's default). */
  historyLimit?: number;
}

/** The caller closes `store` (afterAll). Nodes get mqtt://127.0.0.1:1883 as their broker. */
export function inProcessCloud(options: InProcessCloudOptions = {}): InProcessCloud {
  const store = options.store ?? openStore({ dataDir: makeTempDir(), mode: "cloud" });
  const log = options.log ?? createLogger({ level: "error", format: "json", write: () => {} });
  const plane = new ControlPlane(
    store,
    log,
    options.onPlansChanged ?? (() => {}),
    options.limits,
    options.historyLimit,
  );
  const replan = options.replanOnJoin ?? true;
  const app = cloudApiApp({
    store,
    log,
    readiness: new Readiness(),
    identity: { mode: "cloud" },
    adminToken: ADMIN_TOKEN,
    cloudMqttPassword: "cloud-password",
    plane,
    join: {
      hasher: mosquittoHasher,
      mqttUrlForNodes: () => "mqtt://127.0.0.1:1883",
      onJoined: replan ? () => plane.replan("joined") : () => {},
    },
    ...options.deps,
  });
  return { store, log, plane, app };
}

/** Registers node `name` in the cloud's store as a join would; its MQTT credentials. */
export function registeredNode(store: Store, name: string): { username: string; password: string } {
  const outcome = joinNode(
    store,
    mosquittoHasher,
    { name, labels: {}, addresses: [], agentVersion: "test", arch: "x64" },
    () => {},
  );
  if (outcome.kind !== "joined") throw new Error(`node ${name} could not join: ${outcome.kind}`);
  return outcome.credentials;
}

/**
 * The cloud API with every optional part (artifacts, log streams, exec sessions, backups, the mesh CA, plan
 * signing, the Kubernetes facade, here a fake answering 200): every route the cloud can serve.
 * The caller closes `store` and `logs` (afterAll).
 */
export function everyRouteCloud(): InProcessCloud & { logs: LogStreams } {
  const dataDir = makeTempDir();
  const store = openStore({ dataDir, mode: "cloud" });
  const logs = new LogStreams({ publish: () => true });
  const artifacts = new ArtifactStore(store, dataDir, { maxBytes: 1024 * 1024 });
  const planSigner = loadOrCreatePlanSigner(dataDir);
  const cloud = inProcessCloud({
    store,
    deps: {
      artifacts,
      upgrades: new UpgradeDriver({
        store,
        signer: planSigner,
        log: createLogger({ level: "error", format: "text" }),
        cloudNode: "cloud",
        artifactSize: (sha256) => artifacts.get(sha256)?.size,
        publish: () => true,
      }),
      logs,
      exec: new ExecSessions({ publish: () => true }),
      backup: (options) => takeBackup(store, dataDir, options),
      nodeCa: loadOrCreateNodeCa(makeTempDir()),
      join: {
        hasher: mosquittoHasher,
        mqttUrlForNodes: () => "mqtt://127.0.0.1:1883",
        planSigner,
        onJoined: () => {},
      },
      kube: { fetch: () => new Response("kube"), server: "https://127.0.0.1:6443", caPem: () => "" },
    },
  });
  return { ...cloud, logs };
}

/** A JSON call to `app`'s API (/api/v1 + path) with the admin token: the status and the parsed body. */
export function adminCaller(app: Hono) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await app.request(`/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
}
