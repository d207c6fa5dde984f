// Starts the mesh of one node (cloud or edge): the tunnel listener (mutual TLS, plus the relay on
// the cloud), the dialer (direct, else through the cloud's relay), the relay legs an edge keeps
// open to the cloud, and the MeshAgent with its service ports, upstream ports and forward proxy,
// converged whenever the catalog or the node's workers change: both are given at construction, so
// the mesh hears every change from its start on, whichever part was made first. With
// --mesh-fast-path auto the kernel carries the service ports this node's own workers can serve
// alone (src/mesh/fastpath/): its state is in /readyz's details, its counters in /metrics, and its
// table stays when the agent stops while the workers keep running (removed when they stop too).
// With --mesh-threads N > 1 (edges), N-1 mesh threads (src/mesh/threads/) serve the same service and
// upstream ports next to the main thread; they get the routing state on every refresh.
// With --peer-fetch auto the tunnel also serves this node's verified artifacts to the other nodes
// of the cluster, and the artifact cache asks them through the dialer (src/node/artifacts/).

import type { CatalogStore } from "../mesh/catalog/catalog-store.ts";
import type { CatalogNode } from "../mesh/contracts.ts";
import { FastPath } from "../mesh/fastpath/fast-path.ts";
import { registerFastPathMetrics } from "../mesh/fastpath/metrics.ts";
import { type NftRunner, systemNft, tableName } from "../mesh/fastpath/nft.ts";
import { MeshAgent } from "../mesh/mesh-agent.ts";
import { MeshMetrics } from "../mesh/routing/metrics.ts";
import { stateMessage } from "../mesh/threads/messages.ts";
import { ThreadCounts } from "../mesh/threads/thread-counts.ts";
import { MeshThreads } from "../mesh/threads/threads.ts";
import type { MeshTlsKeeper } from "../mesh/transport/mesh-credentials.ts";
import { relayAddressOf } from "../mesh/transport/relay-address.ts";
import type { RelayHub } from "../mesh/transport/relay-hub.ts";
import { startRelayOffers } from "../mesh/transport/relay-offers.ts";
import { catalogRevocations } from "../mesh/transport/revocation.ts";
import type { ArtifactRequest } from "../mesh/transport/tls-stream.ts";
import { TunnelDialer } from "../mesh/transport/tunnel-dialer.ts";
import { startTunnelServer } from "../mesh/transport/tunnel-server.ts";
import type { RouteStatusEntry } from "../protocol/messages.ts";
import type { PeerFetch } from "./artifacts/peer-fetch.ts";
import type { LocalNode } from "./local-node.ts";
import type { PeerTraffic } from "./traffic-reporter.ts";
import type { WorkerSnapshot } from "./workers/supervisor.ts";

/** What the mesh reads of the node's workers (the supervisor), and hears change. */
export interface MeshWorkers {
  snapshot(): WorkerSnapshot[];
  on(event: "change", listener: () => void): unknown;
  off(event: "change", listener: () => void): unknown;
}

export interface MeshStartOptions {
  node: string;
  /** The mesh catalog this node routes with. */
  catalog: Pick<CatalogStore, "get" | "on" | "off">;
  /** This node's workers (the supervisor). */
  workers: MeshWorkers;
  credentials: MeshTlsKeeper;
  /** The cloud: it runs the relay; edges offer legs to it. */
  relayHub?: RelayHub | undefined;
  /** Edges: where the cloud's relay is before the catalog says (the cloud URL's host). */
  fallbackRelayHost?: string | undefined;
  /**
   * Which verified peers (name, certificate fingerprint) may open streams. The cloud knows its
   * nodes (a deleted node's certificate stops working there at once); an edge accepts any peer
   * whose certificate the cluster CA signed. Either way a certificate the catalog lists as revoked
   * is refused, accepting and dialing, and the streams its node still has open are closed.
   */
  authorize?: ((peer: string, fingerprint: string) => boolean) | undefined;
  /** Where route status goes (the node's link to the cloud). */
  reportRoutes: (routes: RouteStatusEntry[]) => void;
  /** The mesh's counters (made by the caller, which also reads them: traffic-reporter.ts); default new ones. */
  metrics?: MeshMetrics | undefined;
  /** Counts each request (connection, for TCP) received through the tunnel, by peer and path. */
  peers?: PeerTraffic | undefined;
  /** Fetching artifacts from peers and serving them (peer-fetch.ts); absent: off. */
  artifacts?: Pick<PeerFetch, "directory" | "server"> | undefined;
  /** How the fast path runs nftables (tests: a fake); default the system's `nft`. */
  nft?: NftRunner | undefined;
}

export function startMesh(
  local: Pick<LocalNode, "config" | "log" | "lifecycle" | "metrics"> & Partial<Pick<LocalNode, "readiness">>,
  options: MeshStartOptions,
): MeshAgent {
  const { config, log, lifecycle } = local;
  const meshLog = log.child({ component: "mesh" });
  // The fast path's changes are reported as route changes once the mesh exists.
  const fastPathChanged = { notify: (): void => {} };
  const fastPath = new FastPath({
    mode: config.meshFastPath,
    table: tableName(config.mode, options.node),
    runner: options.nft ?? systemNft(),
    bindAddress: config.bindAddress,
    log: meshLog,
    onChange: () => fastPathChanged.notify(),
  });
  local.readiness?.detail("mesh fast path", () => fastPath.describe());
  registerFastPathMetrics(local.metrics, options.node, fastPath);
  const catalog = () => options.catalog.get();
  const lookup = (name: string): CatalogNode | undefined => catalog()?.nodes.find((n) => n.name === name);
  const relayAddress = () =>
    options.relayHub
      ? undefined
      : relayAddressOf(catalog(), options.fallbackRelayHost, config.tunnelListen.port);
  const credentials = () => options.credentials.current();
  const revoked = catalogRevocations(catalog);
  const authorize = (peer: string, fingerprint: string): boolean =>
    !revoked(fingerprint) && (options.authorize?.(peer, fingerprint) ?? true);
  const dialer = new TunnelDialer({
    node: options.node,
    credentials,
    lookup,
    relay: relayAddress,
    ...(options.relayHub ? { localRelay: options.relayHub } : {}),
    relayOnly: config.meshRelayOnly,
    revoked,
    onEvent: (event, fields) => meshLog.debug(event, fields),
  });
  options.artifacts?.directory.attach({
    self: options.node,
    nodes: () => catalog()?.nodes ?? [],
    dialer,
  });
  const metrics = options.metrics ?? new MeshMetrics(local.metrics);
  // The cloud's relay runs in its main thread: its mesh stays there.
  const threadCount = options.relayHub ? 1 : config.meshThreads;
  const localWorkers = () =>
    options.workers
      .snapshot()
      .flatMap((w) =>
        w.port === null ? [] : [{ service: w.service, index: w.index, port: w.port, ready: w.ready }],
      );
  const threads =
    threadCount > 1
      ? new MeshThreads({
          extra: threadCount - 1,
          init: {
            node: options.node,
            bindHost: config.bindAddress,
            loopbackHost: config.proxyListen.host,
            relayOnly: config.meshRelayOnly,
            fallbackRelayHost: options.fallbackRelayHost,
            tunnelPort: config.tunnelListen.port,
            debug: config.logLevel === "debug",
            countsEveryMs: 1000,
          },
          state: () => stateMessage(catalog(), localWorkers(), credentials()),
          counts: new ThreadCounts(metrics),
          log: meshLog,
        })
      : undefined;
  if (threads) metrics.syncWith(() => threads.flush());
  const mesh = new MeshAgent({
    node: options.node,
    log: meshLog,
    bindHost: config.bindAddress,
    loopbackHost: config.proxyListen.host,
    proxyPort: config.proxyListen.port,
    catalog,
    localWorkers,
    dialer,
    distance: (node) => dialer.distance(node),
    metrics,
    reusePort: threads !== undefined,
    onAccept: () => metrics.accepted(0),
    ...(options.peers ? { peerCounts: options.peers.link.bind(options.peers) } : {}),
    fastPath,
    onRoutes: (routes) =>
      options.reportRoutes(
        routes.map((r) => ({
          service: r.service,
          kind: r.kind,
          port: r.port,
          state: r.state,
          message: (r.path === "kernel"
            ? `${r.message}; kernel fast path: ${r.pathReason}`
            : r.message
          ).slice(0, 1024),
          since: r.since,
        })),
      ),
  });
  fastPathChanged.notify = () => mesh.reportRoutes();
  const tunnel = startTunnelServer({
    listen: config.tunnelListen,
    credentials,
    authorize,
    ...(options.relayHub ? { relay: options.relayHub } : {}),
    onStream: (stream) => mesh.serveTunnelStream(stream.service, stream.duplex, stream),
    ...(options.artifacts ? { onArtifact: serveArtifact(options.artifacts.server) } : {}),
    onRefused: (reason, fields) => meshLog.warn("tunnel connection refused", { reason, ...fields }),
  });
  const offers = options.relayHub
    ? undefined
    : startRelayOffers({
        node: options.node,
        credentials,
        relay: relayAddress,
        accept: tunnel.accept,
        onEvent: (event, fields) => meshLog.debug(event, fields),
      });
  mesh.start();
  threads?.start();
  const refresh = () => {
    mesh.refresh();
    threads?.update();
  };
  // A new catalog may revoke certificates: the streams their nodes have open are closed.
  const onCatalog = () => {
    refresh();
    tunnel.recheck();
  };
  options.catalog.on("change", onCatalog);
  options.workers.on("change", refresh);
  lifecycle.add("mesh", async () => {
    options.catalog.off("change", onCatalog);
    options.workers.off("change", refresh);
    offers?.close();
    tunnel.stop();
    mesh.close();
    await threads?.stop();
    // Workers that keep running keep their kernel path (the next start rebuilds it from state).
    return fastPath.close(!config.stopWorkersOnExit);
  });
  meshLog.info("mesh started", {
    tunnel: `${tunnel.hostname}:${tunnel.port}`,
    proxy: `${config.proxyListen.host}:${config.proxyListen.port}`,
    threads: threadCount,
    ...(options.relayHub && config.meshThreads > 1
      ? { threadsNote: "the cloud's mesh runs on its main thread" }
      : {}),
  });
  return mesh;
}

/** The tunnel's artifact requests, to the peer server. */
function serveArtifact(server: PeerFetch["server"]) {
  return (request: ArtifactRequest): void => void server.serve(request);
}
