// `levee edge`: the local manager of one device, composed in this order: the local node (store,
// agent API), the join (once: then its identity lives in SQLite), the mesh credentials, and the
// joined parts (joined-node.ts: supervisor, MQTT link to the cloud for plan and status, mesh). It
// runs the plan stored on disk whether the cloud is reachable or not.
import type { EdgeConfig } from "../config/agent-config.ts";
import { keepEdgeMeshTls } from "../mesh/transport/mesh-credentials.ts";
import { IDENTITY_META, type NodeIdentity, storedIdentity } from "../node/identity.ts";
import { startJoinedNode } from "../node/joined-node.ts";
import { forwardToCloud } from "../node/kube/forward.ts";
import { NodeKube } from "../node/kube/node-kube.ts";
import { edgeKubeAuth, startKubeApi } from "../node/kube/start-kube-api.ts";
import { readStoredPlan } from "../node/link/plan-store.ts";
import { type LocalNode, startLocalNode } from "../node/local-node.ts";
import { nodeStatus } from "../node/status-line.ts";
import { Backoff } from "../runtime/backoff.ts";
import { describeError, isRecoverable } from "../runtime/errors.ts";
import { versionInfo } from "../runtime/version.ts";
import { mqttUrlAfterCloudMove } from "./cloud-move.ts";
import { joinCloud } from "./join.ts";
import { ensurePlanKey } from "./plan-key-fetch.ts";

export async function startEdge(config: EdgeConfig): Promise<LocalNode> {
  const node = await startLocalNode(config);
  const { store, log, lifecycle, readiness } = node;
  followCloud(node, config.cloud);

  let joinState: true | string = "joining the cloud";
  readiness.add("join", () => joinState);
  let stopped = false;
  lifecycle.add("join", () => {
    stopped = true;
  });

  const plan = readStoredPlan(store);
  if (plan) log.info("running the stored plan", { revision: plan.revision, epoch: plan.epoch });

  const identity = storedIdentity(store) ?? (await joinWithRetry());
  if (!identity) return node;
  joinState = true;
  if (identity.name !== config.nodeName) {
    log.warn("this data dir joined under another node name; keeping it", {
      joinedAs: identity.name,
      configured: config.nodeName,
    });
  }

  // A node that joined before plans were signed fetches the cloud's key once (in the background).
  void ensurePlanKey({ store, cloudUrl: config.cloud, identity, log, stopped: () => stopped });

  // Before the joined parts: the mesh's credentials (renewed from the cloud, kept in SQLite).
  const meshTls = keepEdgeMeshTls({
    store,
    cloudUrl: config.cloud,
    identity,
    onEvent: (event, fields) => log.info(event, fields),
  });
  lifecycle.add("mesh-tls", () => meshTls.close());
  const joined = startJoinedNode(node, {
    identity,
    link: { ...(identity.mqttCa ? { tls: { ca: identity.mqttCa } } : {}), check: "cloud" },
    cloudUrl: () => store.getMeta("cloud-url"),
    mesh: { credentials: meshTls, fallbackRelayHost: new URL(config.cloud).hostname },
  });
  // The Kubernetes API for this node's workers: reads from its own view, writes to the cloud.
  if (config.kubeListen) {
    const listen = config.kubeListen;
    const since = new Date().toISOString();
    startKubeApi(node, listen, {
      node: identity.name,
      backend: new NodeKube({
        node: identity.name,
        store,
        catalog: joined.catalog,
        apiAddress: () => ({ host: config.advertiseAddress, port: listen.port, since }),
        log,
      }),
      auth: edgeKubeAuth(node),
      forward: forwardToCloud({
        cloudUrl: () => store.getMeta("cloud-url"),
        username: identity.username,
        password: identity.password,
      }),
    });
  }
  // From now on systemd hears READY=1 as soon as /readyz is 200 (sd-notify.ts).
  node.notify.describe(() => nodeStatus(joined.supervisor, store));
  log.info("edge agent started", {
    cloud: config.cloud,
    mqtt: identity.mqttUrl,
    tls: identity.mqttUrl.startsWith("mqtts:") ? (identity.mqttCa ? "joined CA" : "system CAs") : "none",
  });
  return node;

  async function joinWithRetry(): Promise<NodeIdentity | undefined> {
    const backoff = new Backoff();
    while (!stopped) {
      try {
        const joined = await joinCloud({
          store,
          cloudUrl: config.cloud,
          nodeName: config.nodeName,
          token: config.token,
          addresses: [config.advertiseAddress],
          agentVersion: versionInfo().version,
        });
        log.info("joined the cloud", { node: joined.name, uid: joined.uid });
        return joined;
      } catch (err) {
        // A refusal (bad token, name taken) is final; an unreachable cloud is tried again.
        if (!isRecoverable(err)) throw err;
        joinState = describeError(err);
        const delay = backoff.next();
        log.warn("cannot join yet; retrying", { error: joinState, retryInMs: delay });
        await Bun.sleep(delay);
      }
    }
    return undefined;
  }
}

/**
 * Remembers the cloud URL this start uses. A joined edge whose `cloud:` changed keeps its
 * identity (the cloud may have been restored on another host): its MQTT URL follows the cloud
 * when it named the old cloud's host (cloud-move.ts), stored together with the new cloud URL.
 */
function followCloud(node: LocalNode, cloud: string): void {
  const { store, log } = node;
  const previous = store.getMeta("cloud-url");
  const identity = storedIdentity(store);
  const mqttUrl =
    previous && identity && previous !== cloud
      ? mqttUrlAfterCloudMove(previous, cloud, identity.mqttUrl)
      : undefined;
  store.tx(() => {
    store.setMeta("cloud-url", cloud);
    if (mqttUrl) store.setMeta(IDENTITY_META.mqttUrl, mqttUrl);
  });
  if (previous && previous !== cloud)
    log.warn("the cloud's URL changed: keeping this node's identity", {
      from: previous,
      to: cloud,
      mqtt: mqttUrl ?? identity?.mqttUrl ?? "(not joined yet)",
    });
}
