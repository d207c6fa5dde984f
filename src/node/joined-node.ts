// The parts of a node that need its identity, the same on an edge (after its join) and on the
// cloud's own node, made in one order, each given what it needs when it is made:
//
//   catalog store, status outbox   SQLite-backed; what the link and the supervisor share
//   supervisor                     records every worker status in the outbox
//   usage                          samples the node and the supervisor's workers into SQLite
//   link                           plans → supervisor, catalogs → catalog store, sends the outbox
//                                  (and the usage, with its heartbeats)
//   metrics                        the supervisor's and the link's, on the agent's registry
//   log server                     on the link; reads the supervisor's logs, uploads the metrics
//   mesh                           routes with the catalog and the workers; reports on the link;
//                                  asks peers for artifacts and serves them (--peer-fetch)
//   traffic reports                the mesh's counters, sent on the link while a dashboard watches
//   upgrades                       the cloud's agent upgrade orders from the link; the health gate
//
// Then the agent API shows them (LocalNode.serve) and the supervisor starts from the stored plan:
// a node whose cloud is unreachable runs (and adopts) its workers at once; plans the link
// receives later are applied in order. A part cannot be made before what it needs: each takes the
// others as required options, so a wrong order does not compile.

import { CatalogStore } from "../mesh/catalog/catalog-store.ts";
import type { MeshAgent } from "../mesh/mesh-agent.ts";
import { MeshMetrics } from "../mesh/routing/metrics.ts";
import type { ClientTls } from "../protocol/mqtt-session.ts";
import { WATCH_TOPIC } from "../protocol/traffic.ts";
import { BandwidthLimit } from "./artifacts/bandwidth-limit.ts";
import { peerFetch } from "./artifacts/peer-fetch.ts";
import type { ConfigContentSource } from "./configs/content-source.ts";
import type { NodeIdentity } from "./identity.ts";
import type { EdgeLink } from "./link/edge-link.ts";
import { startNodeLink } from "./link/node-link.ts";
import { readStoredPlan } from "./link/plan-store.ts";
import { StatusOutbox } from "./link/status-outbox.ts";
import type { LocalNode } from "./local-node.ts";
import { NodeCounters, registerNodeMetrics } from "./metrics/node-metrics.ts";
import { type MeshStartOptions, startMesh } from "./start-mesh.ts";
import { PeerTraffic, TrafficReporter } from "./traffic-reporter.ts";
import { startUpgrades } from "./upgrade/start-upgrades.ts";
import { startUsage } from "./usage/start-usage.ts";
import { startExecServer } from "./workers/exec/exec-server.ts";
import { startNodeLogServer } from "./workers/logs/log-server.ts";
import { startSupervisor } from "./workers/start-supervisor.ts";
import type { Supervisor } from "./workers/supervisor.ts";

export interface JoinedNodeOptions {
  identity: NodeIdentity;
  link: {
    /** The broker URL; default the one from the join. */
    url?: string;
    tls?: ClientTls | undefined;
    /** Name of the link's readiness check and log component. */
    check: string;
  };
  /** Where Config content comes from when not from the cloud over HTTP (the cloud's own node). */
  configSource?: ConfigContentSource | undefined;
  /** The cloud API that log uploads go to (an edge: meta cloud-url; the cloud: its own API). */
  cloudUrl: () => string | undefined;
  /** The mesh's transport: credentials, and the relay (the cloud) or where to find it (edges). */
  mesh: Omit<MeshStartOptions, "node" | "catalog" | "workers" | "reportRoutes" | "metrics" | "peers">;
}

export interface JoinedNode {
  name: string;
  catalog: CatalogStore;
  outbox: StatusOutbox;
  supervisor: Supervisor;
  link: EdgeLink;
  mesh: MeshAgent;
}

export function startJoinedNode(node: LocalNode, options: JoinedNodeOptions): JoinedNode {
  const { store, log } = node;
  const { identity } = options;
  const name = identity.name;
  const catalog = new CatalogStore(store);
  const outbox = new StatusOutbox(store);
  const counters = new NodeCounters();
  // One cap for the node's link: its downloads and what it serves to peers.
  const bandwidth = new BandwidthLimit(node.config.downloadBandwidth);
  const peerArtifacts =
    node.config.peerFetch === "auto" && node.config.mode !== "cloud"
      ? peerFetch({
          store,
          dataDir: node.config.dataDir,
          log,
          bandwidth,
          onBytes: (source, bytes) => counters.artifactSourceBytes.inc(source, bytes),
          onServed: (bytes) => {
            counters.artifactServedBytes += bytes;
          },
        })
      : undefined;
  const supervisor = startSupervisor(node, {
    name,
    bandwidth,
    artifactSource: peerArtifacts?.source,
    outbox,
    configSource: options.configSource,
    onHealthCheck: (passed) => counters.healthChecked(passed),
    onArtifactFetch: (outcome, bytes) => counters.artifactFetched(outcome, bytes),
    // The link starts below; the stager reports only once the supervisor starts (at the end).
    reportStaging: (entries) => link.reportStaging(entries),
  });
  const usage = startUsage(node, supervisor);
  const link = startNodeLink(node, identity, { ...options.link, supervisor, catalog, outbox, usage });
  registerNodeMetrics(node.metrics, { workers: () => supervisor.snapshot(), link, counters });
  const exec = startExecServer(node, identity, options.cloudUrl, supervisor);
  startNodeLogServer(
    node,
    link,
    identity,
    options.cloudUrl,
    (service, index, read) => supervisor.openLog(service, index, read),
    (request) => void exec.serve(request),
  );
  const metrics = new MeshMetrics(node.metrics);
  const peers = new PeerTraffic();
  const mesh = startMesh(node, {
    ...options.mesh,
    node: name,
    catalog,
    workers: supervisor,
    reportRoutes: (routes) => link.reportRoutes(routes),
    metrics,
    peers,
    artifacts: peerArtifacts,
  });
  // While a dashboard watches (the cloud's retained signal), the mesh's traffic goes up too.
  const traffic = new TrafficReporter({
    cells: metrics.cells,
    peers,
    send: (body) => link.sendTraffic(body),
    onEvent: (event, fields) => log.warn(event, fields),
  });
  link.subscribe(WATCH_TOPIC, (payload) => traffic.signal(payload));
  node.lifecycle.add("traffic-reports", () => traffic.stop());
  startUpgrades(node, supervisor, link);
  node.serve({ name, supervisor, catalog, mesh });
  supervisor.start(readStoredPlan(store)).catch((err: Error) => {
    log.error("the supervisor could not start the stored plan", { error: err.message });
  });
  return { name, catalog, outbox, supervisor, link, mesh };
}
