// The cloud's MQTT broker: the embedded one (aedes, on --mqtt-listen, with TLS when given a
// certificate, its authority over who may connect and publish from the store) or an external one
// (--mqtt-url, e.g. Mosquitto), and the URLs the cloud and joining edges use to reach it. The
// cloud's own MQTT password is made once and kept, so that an external broker's password file
// stays valid across restarts.
import { randomBytes } from "node:crypto";
import type { CloudConfig } from "../config/agent-config.ts";
import type { LocalNode } from "../node/local-node.ts";
import type { ClientTls } from "../protocol/mqtt-session.ts";
import type { Logger } from "../runtime/log.ts";
import { type EmbeddedBroker, safeUrl, startEmbeddedBroker } from "./broker.ts";
import { createBrokerAuthority } from "./link/sync-store.ts";
import { type BrokerTls, certificateExpiresInMs } from "./mqtt-tls.ts";

export interface CloudBroker {
  /** levee-cloud's MQTT password. */
  cloudPassword: string;
  /** Where the cloud's own clients connect. */
  brokerUrl: string;
  /** The URL joining edges get. */
  nodesMqttUrl: string;
  /** What the cloud's own MQTT clients trust, and the CA that joining edges get. */
  tls: ClientTls | undefined;
  /** The embedded broker, when there is no external one. */
  embeddedBroker: EmbeddedBroker | undefined;
}

export async function startBroker(
  config: CloudConfig,
  node: Pick<LocalNode, "log" | "lifecycle" | "readiness" | "store">,
  brokerTls: { server: BrokerTls; ca: string } | undefined,
  externalCa: string | undefined,
): Promise<CloudBroker> {
  const { log, lifecycle, readiness, store } = node;
  // levee-cloud's MQTT password: kept so that an external broker's password file stays valid.
  let cloudPassword = store.getMeta("cloud-mqtt-password");
  if (!cloudPassword) {
    cloudPassword = randomBytes(24).toString("base64url");
    store.setMeta("cloud-mqtt-password", cloudPassword);
  }

  let brokerUrl: string;
  let nodesMqttUrl: string;
  let tls: ClientTls | undefined;
  let embeddedBroker: EmbeddedBroker | undefined;
  if (config.mqttUrl) {
    brokerUrl = config.mqttUrl;
    const forNodes = new URL(config.mqttUrl);
    forNodes.username = "";
    forNodes.password = "";
    nodesMqttUrl = forNodes.toString().replace(/\/$/, "");
    if (externalCa) tls = { ca: externalCa };
    log.info("using an external mqtt broker", { url: safeUrl(config.mqttUrl) });
  } else {
    if (brokerTls) {
      warnIfExpiring(log, brokerTls.server.cert);
      // The cloud checks the name edges will check: a certificate they would refuse fails here too.
      tls = { ca: brokerTls.ca, expectName: config.advertiseAddress };
    }
    const broker = await startEmbeddedBroker(config.mqttListen, log.child({ component: "mqtt" }), {
      tls: brokerTls?.server,
    });
    broker.setAuthority(createBrokerAuthority(store, cloudPassword));
    embeddedBroker = broker;
    lifecycle.add("broker", () => broker.close());
    readiness.add("mqtt", () => broker.readiness());
    const scheme = brokerTls ? "mqtts" : "mqtt";
    brokerUrl = `${scheme}://${reachable(config.mqttListen.host)}:${config.mqttListen.port}`;
    nodesMqttUrl = `${scheme}://${reachable(config.advertiseAddress)}:${config.mqttListen.port}`;
  }
  return { cloudPassword, brokerUrl, nodesMqttUrl, tls, embeddedBroker };
}

/** Where a client on this host reaches a listener bound to `host`. */
export function reachable(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

function warnIfExpiring(log: Logger, certPem: string): void {
  const ms = certificateExpiresInMs(certPem, Date.now());
  if (ms < 0) log.error("the mqtt tls certificate has expired: edges will refuse the broker", {});
  else if (ms < 14 * 24 * 3600_000)
    log.warn("the mqtt tls certificate expires soon", { days: Math.floor(ms / (24 * 3600_000)) });
}
