import { renameSync, writeFileSync } from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import type { CloudConfig } from "../config/agent-config.ts";
import type { WorkerCaller } from "../kube/access.ts";
import { formatDuration } from "../manifest/duration.ts";
import { keepMeshTls, type MeshTlsKeeper } from "../mesh/transport/mesh-credentials.ts";
import { RelayHub } from "../mesh/transport/relay-hub.ts";
import { type NodeIdentity, saveIdentity, storedIdentity } from "../node/identity.ts";
import { startJoinedNode } from "../node/joined-node.ts";
import { startKubeApi, workerCaller } from "../node/kube/start-kube-api.ts";
import { type LocalNode, startLocalNode } from "../node/local-node.ts";
import { savePlanKey } from "../node/plan-key.ts";
import { nodeStatus } from "../node/status-line.ts";
import { mosquittoHasher } from "../protocol/mosquitto-password.ts";
import { WATCH_TOPIC } from "../protocol/traffic.ts";
import { RefusalError } from "../runtime/errors.ts";
import { type Server, serveHttp } from "../runtime/serve.ts";
import { socketHandlers } from "../runtime/socket-upgrade.ts";
import { versionInfo } from "../runtime/version.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { cloudApiApp } from "./api/app.ts";
import { NodeCredentials } from "./api/node-auth.ts";
import { ArtifactStore } from "./artifact-store.ts";
import { takeBackup } from "./backup.ts";
import { reachable, startBroker } from "./broker-setup.ts";
import { CatalogPublisher } from "./catalog/catalog-publisher.ts";
import { localConfigSource } from "./config-content.ts";
import { ControlPlane } from "./control-plane.ts";
import { TrafficRing } from "./dashboard/traffic-ring.ts";
import { reportInterval, WatchSignalPublisher } from "./dashboard/watch-signal.ts";
import { EXEC_SOCKET_LIMITS, ExecSessions, execEvent } from "./exec-sessions.ts";
import { CloudKubeAuth } from "./kube/cloud-auth.ts";
import { CloudKube } from "./kube/cloud-kube.ts";
import { type CloudLink, type PhaseChange, startCloudLink } from "./link/cloud-link.ts";
import { nodeExists } from "./link/sync-store.ts";
import { LogStreams } from "./log-streams.ts";
import { createLostAfterLookup } from "./lost-after.ts";
import { CloudMetrics } from "./metrics/cloud-metrics.ts";
import { ensureMetricsToken } from "./metrics/metrics-token.ts";
import { startMosquittoFiles } from "./mosquitto-files.ts";
import { loadBrokerTls, loadCa } from "./mqtt-tls.ts";
import { issueOwnMeshTls, loadOrCreateNodeCa, type NodeCa, ownedBy } from "./node-ca.ts";
import { isRevoked, recordingNodeCa } from "./node-certificates.ts";
import { joinNode } from "./node-registry.ts";
import type { NodeConnected } from "./node-session.ts";
import { planLimits } from "./plan-limits.ts";
import { loadOrCreatePlanSigner } from "./plan-signing-key.ts";
import { phaseChangeAffectsPlacement } from "./planner.ts";
import { clusterStatus } from "./status-line.ts";
import { UpgradeDriver } from "./upgrade/upgrade-driver.ts";

export interface CloudAgent extends LocalNode {
  api: Server;
  link: CloudLink;
  plane: ControlPlane;
  /** The mesh CA, and this node's own mesh credentials (kept renewed). */
  nodeCa: NodeCa;
  meshTls: MeshTlsKeeper;
}

export async function startCloud(config: CloudConfig): Promise<CloudAgent> {
  // Certificates first: a wrong file stops the cloud before it starts anything.
  const brokerTls =
    config.mqttTls && !config.mqttUrl
      ? loadBrokerTls({ ...config.mqttTls, caFile: config.mqttTlsCa }, config.advertiseAddress)
      : undefined;
  const externalCa = config.mqttUrl && config.mqttTlsCa ? loadCa(config.mqttTlsCa) : undefined;
  const node = await startLocalNode(config);
  const planSigner = loadOrCreatePlanSigner(config.dataDir);
  const { log, lifecycle, readiness, store } = node;
  // Every certificate it issues is recorded, so that deleting a node revokes its certificates.
  const nodeCa = recordingNodeCa(loadOrCreateNodeCa(config.dataDir), store);
  const adminToken = ensureAdminToken(config.dataDir);

  const { cloudPassword, brokerUrl, nodesMqttUrl, tls, embeddedBroker } = await startBroker(
    config,
    node,
    brokerTls,
    externalCa,
  );

  // The sync link first: the parts it calls back (phase events, log streams, the catalog, the
  // control plane) are made right after it and take it as their way out. It calls back only on
  // broker traffic and its sweep timer, never before this function has made them all.
  const lostAfterMs = createLostAfterLookup(store);
  const link = startCloudLink({
    store,
    log: log.child({ component: "sync" }),
    url: brokerUrl,
    tls,
    password: cloudPassword,
    lostAfterMs,
    onPhaseChange: (change) => {
      phaseEvents.add({
        kind: "Node",
        name: change.node,
        reason: change.to,
        message: phaseMessage(change, lostAfterMs),
      });
      if (phaseChangeAffectsPlacement(change)) plane.replan(`node ${change.node} is ${change.to}`);
      if (change.to !== "Ready") {
        logs.endNode(change.node, `node ${change.node} is disconnected`);
        exec.endNode(change.node, `node ${change.node} is disconnected`);
      }
      catalog.markDirty();
      kube.markDirty();
    },
    onStatus: () => {
      // A draining node's selector workers go once the other nodes report theirs ready.
      if (plane.drainPending) plane.replan("drain hand-over");
      catalog.markDirty();
      kube.markDirty();
    },
    // A staged generation a node now has may be let through (per-node, or all-nodes' last node).
    onStaged: (name) => plane.replan(`node ${name} staged a generation`),
    signPlan: (fields) => planSigner.sign(fields),
    onApplied: (name, revision) => metrics.acks.applied(name, revision),
    onTraffic: (name, report, receivedAt) => traffic.record(name, report, receivedAt),
    onUpgradeReport: (name, report) => upgrades.report(name, report),
    onPlanRefused: (name, refusal) =>
      phaseEvents.add({
        kind: "Node",
        name,
        reason: "PlanRefused",
        message: `refused plan revision ${refusal.revision}: ${refusal.reason}`,
      }),
  });
  readiness.add("sync", () => link.state());
  // With an external broker, "mqtt" says whether it is reachable, as the embedded one's check does.
  if (config.mqttUrl) readiness.add("mqtt", () => link.state());
  // With the embedded broker the cloud knows which nodes are connected: a request for one that is
  // not is answered 503 at once (e.g. after a cloud restart, before its phase sweep marks it).
  const connected: NodeConnected | undefined = embeddedBroker
    ? (name) => embeddedBroker.isConnected(name)
    : undefined;
  const logs = new LogStreams({ publish: (topic, payload) => link.publish(topic, payload), connected });
  const metrics = new CloudMetrics({ store, link, broker: embeddedBroker, logStreams: logs });
  // The nodes' mesh traffic, asked for while a dashboard page is open (src/protocol/traffic.ts).
  const traffic = new TrafficRing();
  const watchSignal = new WatchSignalPublisher({
    intervalSeconds: () =>
      reportInterval(store.db.query<{ n: number }, []>("SELECT count(*) AS n FROM nodes").get()?.n ?? 0),
    publish: (payload) => link.publish(WATCH_TOPIC, payload, true),
  });
  watchSignal.start();
  lifecycle.add("watch-signal", () => watchSignal.close());
  const catalog = new CatalogPublisher({
    store,
    log: log.child({ component: "catalog" }),
    publish: (topic, payload) => link.publish(topic, Buffer.from(payload), true),
    // Nodes answer the Kubernetes API's reads from it, when some worker may ask.
    kubeView: () => kube.viewForNodes(),
  });
  const plane = new ControlPlane(
    store,
    log.child({ component: "control-plane" }),
    (changes) => {
      for (const change of changes) link.publishPlan(change.node);
      metrics.acks.planned(changes);
      catalog.markDirty();
    },
    planLimits(config.nodeLimits),
    config.historyLimit,
  );
  const phaseEvents = batchEvents((events) => plane.recordEvents(events));
  const exec = new ExecSessions({
    publish: (topic, payload) => link.publish(topic, payload),
    onStart: (target, command) => plane.recordEvents([execEvent(target, command)]),
    connected,
  });
  // The Kubernetes API's view of the store (src/cloud/kube/): `default/kubernetes` is this listener.
  const kubeSince = new Date().toISOString();
  const kube = new CloudKube({
    store,
    plane,
    apiAddress: () => ({
      host: config.advertiseAddress,
      port: config.kubeListen?.port ?? 0,
      since: kubeSince,
    }),
    restartWorker: (service, worker, index) => void plane.restartWorker(service, worker, index),
  });
  lifecycle.add("kube", () => kube.close());
  // Closed in reverse: the link first, then the catalog, the log streams, the last phase events.
  lifecycle.add("phase-events", () => phaseEvents.flush());
  lifecycle.add("log-streams", () => logs.close());
  lifecycle.add("exec-sessions", () => exec.close());
  lifecycle.add("catalog", () => catalog.close());
  lifecycle.add("sync", () => link.close());

  // The cloud's own node: registered, its mesh credentials (signed by the mesh CA, kept renewed),
  // the relay every edge reaches, then its joined parts (joined-node.ts) as on any edge.
  const identity = selfIdentity(node, config.mqttUrl ? nodesMqttUrl : brokerUrl);
  // Its plans come through the broker too, so it verifies them with the same key as any edge.
  savePlanKey(store, planSigner.key);
  // A mesh peer (relay or tunnel) must be a node of the cluster with a certificate not revoked.
  const meshPeerAllowed = (name: string, fingerprint: string): boolean =>
    nodeExists(store, name) && !isRevoked(store, fingerprint);
  const meshTls = keepMeshTls({
    store,
    obtain: async () => issueOwnMeshTls(nodeCa, identity.name, [config.advertiseAddress]),
    usable: (stored) => ownedBy(nodeCa, identity.name, stored),
    onEvent: (event, fields) => log.info(event, fields),
  });
  lifecycle.add("mesh-tls", () => meshTls.close());
  const relayHub = new RelayHub({
    name: identity.name,
    credentials: () => meshTls.current(),
    authorize: (name, fingerprint) => meshPeerAllowed(name, fingerprint),
    onEvent: (event, fields) => log.debug(event, { component: "relay", ...fields }),
  });
  const apiUrl = `http://${reachable(config.apiListen.host)}:${config.apiListen.port}`;
  const joined = startJoinedNode(node, {
    identity,
    link: { url: config.mqttUrl ? nodesMqttUrl : brokerUrl, tls, check: "node-sync" },
    configSource: localConfigSource(store, identity.name),
    cloudUrl: () => apiUrl,
    mesh: {
      credentials: meshTls,
      relayHub,
      authorize: (name, fingerprint) => meshPeerAllowed(name, fingerprint),
    },
  });
  // After this node registered itself: the first files already let it in.
  const mosquitto = config.mosquitto
    ? startMosquittoFiles({
        store,
        log: log.child({ component: "mosquitto-files" }),
        dir: config.mosquitto.configDir,
        cloudPassword,
        reloadCommand: config.mosquitto.reloadCommand,
      })
    : undefined;
  if (mosquitto) lifecycle.add("mosquitto-files", () => mosquitto.close());

  plane.replan("start");
  catalog.markDirty();
  const artifacts = new ArtifactStore(store, config.dataDir, { maxBytes: config.artifactMaxBytes });
  // Agent upgrades: orders out on the link, reports in from it (onUpgradeReport above).
  const upgrades = new UpgradeDriver({
    store,
    signer: planSigner,
    log: log.child({ component: "upgrade" }),
    cloudNode: identity.name,
    artifactSize: (sha256) => artifacts.get(sha256)?.size,
    publish: (topic, payload) => link.publish(topic, payload),
  });
  upgrades.start();
  lifecycle.add("upgrades", () => upgrades.stop());
  const kubeApi = config.kubeListen
    ? startKubeApi(node, config.kubeListen, {
        node: identity.name,
        backend: kube,
        auth: new CloudKubeAuth({
          store,
          adminToken,
          nodes: new NodeCredentials(store),
          identifyWorker: (token) => workerCaller(node, token) as WorkerCaller | undefined,
        }),
      })
    : undefined;

  const app = cloudApiApp({
    store,
    log: log.child({ component: "api" }),
    readiness,
    identity: node.identity,
    adminToken,
    cloudMqttPassword: cloudPassword,
    plane,
    join: {
      hasher: mosquittoHasher,
      mqttUrlForNodes: () => nodesMqttUrl,
      mqttCaForNodes: () => tls?.ca ?? null,
      nodeCa,
      planSigner,
      onJoined: (name) => {
        mosquitto?.refresh();
        plane.replan(`node ${name} joined`, name);
      },
    },
    hooks: {
      onNodeDeleted: (name) => {
        metrics.acks.forget(name);
        mosquitto?.refresh();
        // Its credentials no longer verify: close its connection so that it learns so now.
        embeddedBroker?.disconnect(name);
        // Its revoked certificates go out with the next catalog.
        catalog.markDirty();
      },
    },
    artifacts,
    upgrades,
    logs,
    exec,
    nodeCa,
    relayLegs: (name) => relayHub.legs(name),
    traffic: { ring: traffic, onWatching: (watching) => watchSignal.set(watching) },
    backup: (options) => takeBackup(store, config.dataDir, options),
    metrics: { cloud: metrics, token: ensureMetricsToken(config.dataDir), cloudName: identity.name },
    ...(kubeApi && config.kubeListen
      ? {
          kube: {
            fetch: (req: Request) => kubeApi.app.fetch(req),
            server: `https://${reachable(config.advertiseAddress)}:${config.kubeListen.port}`,
            caPem: kubeApi.caPem,
          },
        }
      : {}),
  });
  // Bun's own body limit off: every route has its own (4 MiB for JSON, --artifact-max-size for an
  // artifact, which the API answers with 413 itself), and a followed log upload has none at all.
  // WebSockets: exec sessions (their messages bounded by the exec protocol).
  const api = serveHttp("cloud API, --api-listen", config.apiListen, app.fetch, {
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    websocket: socketHandlers(EXEC_SOCKET_LIMITS),
  });
  lifecycle.add("api", () => api.stop(true));
  writeApiUrl(config.dataDir, apiUrl);
  log.info("cloud API listening", { url: apiUrl });
  // From now on systemd hears READY=1 as soon as /readyz is 200 (sd-notify.ts).
  node.notify.describe(() => `${clusterStatus(store)}; this node: ${nodeStatus(joined.supervisor, store)}`);
  return { ...node, api, link, plane, nodeCa, meshTls };
}

/**
 * The cloud is a node too: it registers itself (no join token: it owns the registry) and talks to
 * its own broker like any edge, so its workers get plans and report status the same way.
 */
function selfIdentity(node: LocalNode, mqttUrl: string): NodeIdentity {
  const { store, config } = node;
  const stored = storedIdentity(store);
  if (stored) return stored;
  const outcome = joinNode(
    store,
    mosquittoHasher,
    {
      name: config.nodeName,
      labels: {},
      addresses: [config.advertiseAddress],
      agentVersion: versionInfo().version,
      arch: arch(),
    },
    () => {},
    "cloud",
  );
  if (outcome.kind !== "joined") {
    throw new RefusalError(
      `node name "${config.nodeName}" is already taken by another node; pick another --node-name`,
    );
  }
  const identity = { name: config.nodeName, uid: outcome.uid, mqttUrl, ...outcome.credentials };
  saveIdentity(store, identity);
  return identity;
}

type NewEvent = Parameters<ControlPlane["recordEvents"]>[0][number];

/** Collects events for 50 ms and records them together (one transaction per batch). */
function batchEvents(record: (events: NewEvent[]) => void): { add(e: NewEvent): void; flush(): void } {
  let pending: NewEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    record(batch);
  };
  return {
    add(e) {
      pending.push(e);
      timer ??= setTimeout(flush, 50);
    },
    flush,
  };
}

/** The event text of a phase change. */
function phaseMessage(change: PhaseChange, lostAfterMs: (node: string) => number | null): string {
  const base = `${change.from} → ${change.to}`;
  if (change.to !== "Lost") return base;
  const ms = lostAfterMs(change.node);
  const after = ms === null ? "" : ` for ${formatDuration(ms)} (the smallest lostAfter of its services)`;
  return `${base}: disconnected${after}; its nodeSelector workers may be placed elsewhere, pinned ones stay`;
}

/** <data-dir>/api.url tells `levee ctl` on this host where the API is. */
function writeApiUrl(dataDir: string, url: string): void {
  const path = join(dataDir, "api.url");
  writeFileSync(`${path}.tmp`, `${url}\n`);
  renameSync(`${path}.tmp`, path);
}
