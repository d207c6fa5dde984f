// What every node runs, cloud and edge alike: the logger, the shutdown lifecycle, the store in
// the data dir, and the local agent API with health endpoints. The cloud adds its API and broker
// on top; later parts add the supervisor and the mesh here.
import { join } from "node:path";
import { Registry } from "prom-client";
import type { AgentConfig } from "../config/agent-config.ts";
import type { CatalogStore } from "../mesh/catalog/catalog-store.ts";
import type { MeshAgent } from "../mesh/mesh-agent.ts";
import { Readiness } from "../runtime/health.ts";
import { createLogger, type Logger } from "../runtime/log.ts";
import { Lifecycle } from "../runtime/shutdown.ts";
import { ensureTokenFile } from "../runtime/token-file.ts";
import { versionInfo } from "../runtime/version.ts";
import { openStore, type Store } from "../store/store.ts";
import { probeStoreWrite } from "../store/write-probe.ts";
import { startAgentApi } from "./agent-api.ts";
import { AGENT_TOKEN_FILE } from "./agent-auth.ts";
import type { ConfigContentSource } from "./configs/content-source.ts";
import type { Supervisor } from "./workers/supervisor.ts";

export interface LocalNode {
  config: AgentConfig;
  log: Logger;
  lifecycle: Lifecycle;
  store: Store;
  readiness: Readiness;
  identity: Record<string, string>;
  /** This agent's Prometheus metrics (GET /metrics on the agent API). */
  metrics: Registry;
  /** Set once the node's identity is known (after the join): runs the node's workers. */
  supervisor?: Supervisor;
  /** The name this node joined as (set with the supervisor). */
  nodeName?: string;
  /** The mesh of this node (service ports, forward proxy, tunnel), once started. */
  mesh?: MeshAgent;
  /** Where Config content comes from when not from the cloud over HTTP (the cloud's own node). */
  configSource?: ConfigContentSource;
  /** Set with the supervisor: the mesh catalog this node routes with (kept in SQLite). */
  catalog?: CatalogStore;
}

export async function startLocalNode(config: AgentConfig): Promise<LocalNode> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat }).child({
    node: config.nodeName,
  });
  const lifecycle = new Lifecycle(log);
  lifecycle.handleSignals();
  const { version, commit } = versionInfo();
  log.info(`starting levee ${config.mode}`, {
    version,
    commit,
    pid: process.pid,
    dataDir: config.dataDir,
    bindAddress: config.bindAddress,
    advertiseAddress: config.advertiseAddress,
  });

  const store = openStore({
    dataDir: config.dataDir,
    mode: config.mode,
    onModesFixed: (fixes) =>
      log.warn("made the data dir private: it holds secrets (the database, tokens, keys)", {
        fixed: fixes.map((f) => `${f.path} ${f.from} -> ${f.to}`).join(", "),
      }),
  });
  lifecycle.add("store", () => store.close());
  const nodeName = store.getMeta("node-name");
  if (nodeName === undefined) store.setMeta("node-name", config.nodeName);
  else if (nodeName !== config.nodeName) {
    log.warn("node name differs from the one this data dir was created with", {
      configured: config.nodeName,
      stored: nodeName,
    });
  }

  const readiness = new Readiness();
  readiness.add("store", () => probeStoreWrite(store));
  const identity = { mode: config.mode, node: config.nodeName, version };
  const metrics = new Registry();
  const node: LocalNode = { config, log, lifecycle, store, readiness, identity, metrics };
  const agentToken = ensureTokenFile(join(config.dataDir, AGENT_TOKEN_FILE), "lvagt_");
  const agentApi = startAgentApi(
    config.agentListen,
    readiness,
    identity,
    store,
    () => node.supervisor,
    agentToken,
    {
      node: () => node.nodeName,
      catalog: () => node.catalog?.get(),
      localWorkers: () => node.supervisor?.snapshot() ?? [],
      routes: () => node.mesh?.routes(),
      metrics: () => metrics.metrics(),
    },
  );
  lifecycle.add("agent-api", () => agentApi.stop(true));
  log.info("local agent API listening", { url: agentApi.url.toString() });
  return node;
}
