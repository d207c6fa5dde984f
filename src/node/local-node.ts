// What every node runs, cloud and edge alike, from the start: the logger, the shutdown lifecycle,
// the store in the data dir, and the local agent API with health endpoints. The parts that need
// the node's identity (catalog, status outbox, supervisor, link, mesh: joined-node.ts) come after
// the join, which on an edge can take long while /readyz already answers; they are shown on the
// agent API all at once, through `serve`, when the last of them is made.
import { join } from "node:path";
import { Registry } from "prom-client";
import type { AgentConfig } from "../config/agent-config.ts";
import type { CatalogStore } from "../mesh/catalog/catalog-store.ts";
import type { MeshAgent } from "../mesh/mesh-agent.ts";
import { Readiness } from "../runtime/health.ts";
import { createLogger, type Logger } from "../runtime/log.ts";
import { collectProcessMetrics } from "../runtime/prom-export.ts";
import { type SystemdNotify, startSystemdNotify } from "../runtime/sd-notify.ts";
import { Lifecycle } from "../runtime/shutdown.ts";
import { ensureTokenFile } from "../runtime/token-file.ts";
import { versionInfo } from "../runtime/version.ts";
import { openStore, type Store } from "../store/store.ts";
import { storeWriteCheck } from "../store/write-probe.ts";
import { startAgentApi } from "./agent-api.ts";
import { AGENT_TOKEN_FILE } from "./agent-auth.ts";
import type { Supervisor } from "./workers/supervisor.ts";

export interface LocalNode {
  config: AgentConfig;
  log: Logger;
  lifecycle: Lifecycle;
  store: Store;
  readiness: Readiness;
  /** systemd's view (Type=notify): READY=1 with /readyz, the status line, the watchdog. */
  notify: SystemdNotify;
  identity: Record<string, string>;
  /** This agent's Prometheus metrics (GET /metrics on the agent API). */
  metrics: Registry;
  /**
   * Shows the joined node's parts on the agent API (/v1/workers, the discovery routes): once,
   * with every part made. Until then those routes answer that the node has not joined.
   */
  serve(parts: ServedParts): void;
}

/** What the agent API shows of a node that joined. */
export interface ServedParts {
  /** The name this node joined as. */
  name: string;
  supervisor: Supervisor;
  /** The mesh catalog this node routes with (kept in SQLite). */
  catalog: CatalogStore;
  mesh: MeshAgent;
}

export async function startLocalNode(config: AgentConfig): Promise<LocalNode> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat }).child({
    node: config.nodeName,
  });
  const lifecycle = new Lifecycle(log);
  lifecycle.handleSignals();
  const readiness = new Readiness();
  const notify = startSystemdNotify({ readiness, lifecycle, log });
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

  readiness.add("store", storeWriteCheck(store));
  const identity = { mode: config.mode, node: config.nodeName, version };
  const metrics = new Registry();
  collectProcessMetrics(metrics);
  let served: ServedParts | undefined;
  const agentToken = ensureTokenFile(join(config.dataDir, AGENT_TOKEN_FILE), "lvagt_");
  const agentApi = startAgentApi(config.agentListen, {
    readiness,
    identity,
    store,
    workers: () => served?.supervisor,
    agentToken,
    discovery: {
      node: () => served?.name,
      catalog: () => served?.catalog.get(),
      localWorkers: () => served?.supervisor.snapshot() ?? [],
      routes: () => served?.mesh.routes(),
      metrics: () => metrics.metrics(),
    },
  });
  lifecycle.add("agent-api", () => agentApi.stop(true));
  log.info("local agent API listening", { url: agentApi.url.toString() });
  const serve = (parts: ServedParts) => {
    if (served) throw new Error(`node ${served.name} is already served on the agent API`);
    served = parts;
  };
  return { config, log, lifecycle, store, readiness, notify, identity, metrics, serve };
}
