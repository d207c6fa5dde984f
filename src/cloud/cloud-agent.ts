// `levee cloud`: the global manager. It is a node too (local node runtime), plus: the admin token,
// the MQTT broker (embedded, or external with --mqtt-url), the sync link that keeps every node's
// plan right, the control plane (apply → plans) and the cloud API on --api-listen.
import { randomBytes } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import type { CloudConfig } from "../config/agent-config.ts";
import { saveIdentity, storedIdentity } from "../edge/join.ts";
import { type LocalNode, startLocalNode } from "../edge/local-node.ts";
import { RefusalError } from "../runtime/errors.ts";
import { type Server, serveHttp } from "../runtime/serve.ts";
import { versionInfo } from "../runtime/version.ts";
import { type CloudLink, startCloudLink } from "../sync/cloud-link.ts";
import { startEdgeLink } from "../sync/edge-link.ts";
import { mosquittoHasher } from "../sync/mosquitto-password.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { cloudApiApp } from "./api/app.ts";
import { safeUrl, startEmbeddedBroker } from "./broker.ts";
import { ControlPlane } from "./control-plane.ts";
import { joinNode } from "./node-registry.ts";
import { createBrokerAuthority } from "./sync-store.ts";

export interface CloudAgent extends LocalNode {
  api: Server;
  link: CloudLink;
  plane: ControlPlane;
}

/** Where a client on this host reaches a listener bound to `host`. */
function reachable(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

export async function startCloud(config: CloudConfig): Promise<CloudAgent> {
  const node = await startLocalNode(config);
  const { log, lifecycle, readiness, store } = node;
  const adminToken = ensureAdminToken(config.dataDir);

  // levee-cloud's MQTT password: kept so that an external broker's password file stays valid.
  let cloudPassword = store.getMeta("cloud-mqtt-password");
  if (!cloudPassword) {
    cloudPassword = randomBytes(24).toString("base64url");
    store.setMeta("cloud-mqtt-password", cloudPassword);
  }

  let brokerUrl: string;
  let nodesMqttUrl: string;
  if (config.mqttUrl) {
    brokerUrl = config.mqttUrl;
    const forNodes = new URL(config.mqttUrl);
    forNodes.username = "";
    forNodes.password = "";
    nodesMqttUrl = forNodes.toString().replace(/\/$/, "");
    log.info("using an external mqtt broker", { url: safeUrl(config.mqttUrl) });
  } else {
    const broker = await startEmbeddedBroker(config.mqttListen, log.child({ component: "mqtt" }));
    broker.setAuthority(createBrokerAuthority(store, cloudPassword));
    lifecycle.add("broker", () => broker.close());
    readiness.add("mqtt", () => broker.readiness());
    brokerUrl = `mqtt://${reachable(config.mqttListen.host)}:${config.mqttListen.port}`;
    nodesMqttUrl = `mqtt://${reachable(config.advertiseAddress)}:${config.mqttListen.port}`;
  }

  let plane: ControlPlane | undefined;
  const link = startCloudLink({
    store,
    log: log.child({ component: "sync" }),
    url: brokerUrl,
    password: cloudPassword,
    onPhaseChange: (change) => {
      log.info("node phase changed", { ...change });
      plane?.replan(`node ${change.node} is ${change.to}`);
    },
  });
  lifecycle.add("sync", () => link.close());
  readiness.add("sync", () => link.state());

  plane = new ControlPlane(store, log.child({ component: "control-plane" }), (changes) => {
    for (const change of changes) link.publishPlan(change.node);
  });
  startSelfLink(node, config.mqttUrl ? nodesMqttUrl : brokerUrl);
  plane.replan("start");

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
      onJoined: (name) => plane?.replan(`node ${name} joined`),
    },
  });
  const api = serveHttp("cloud API, --api-listen", config.apiListen, app.fetch);
  lifecycle.add("api", () => api.stop(true));
  const apiUrl = `http://${reachable(config.apiListen.host)}:${config.apiListen.port}`;
  writeApiUrl(config.dataDir, apiUrl);
  log.info("cloud API listening", { url: apiUrl });
  return { ...node, api, link, plane };
}

/**
 * The cloud is a node too: it registers itself (no join token: it owns the registry) and talks to
 * its own broker like any edge, so its workers get plans and report status the same way.
 */
function startSelfLink(node: LocalNode, mqttUrl: string): void {
  const { store, config, log, lifecycle, readiness } = node;
  let identity = storedIdentity(store);
  if (!identity) {
    const outcome = joinNode(
      store,
      mosquittoHasher,
      {
        name: config.nodeName,
        labels: { "levee.io/role": "cloud" },
        addresses: [config.advertiseAddress],
        agentVersion: versionInfo().version,
        arch: arch(),
      },
      () => {},
    );
    if (outcome.kind !== "joined") {
      throw new RefusalError(
        `node name "${config.nodeName}" is already taken by another node; pick another --node-name`,
      );
    }
    identity = { name: config.nodeName, uid: outcome.uid, mqttUrl, ...outcome.credentials };
    saveIdentity(store, identity);
  }
  const link = startEdgeLink({
    store,
    log: log.child({ component: "node-sync" }),
    node: identity.name,
    url: mqttUrl,
    username: identity.username,
    password: identity.password,
    agentVersion: versionInfo().version,
    addresses: [config.advertiseAddress],
    onPlan: (plan) => log.info("plan stored", { revision: plan.revision, epoch: plan.epoch }),
  });
  lifecycle.add("node-sync", () => link.close());
  readiness.add("node-sync", () => link.state());
}

/** <data-dir>/api.url tells `levee ctl` on this host where the API is. */
function writeApiUrl(dataDir: string, url: string): void {
  const path = join(dataDir, "api.url");
  writeFileSync(`${path}.tmp`, `${url}\n`);
  renameSync(`${path}.tmp`, path);
}
