// `levee cloud`: the global manager. It is a node too (local node runtime), plus the cloud API
// on --api-listen and the MQTT broker (embedded, or external with --mqtt-url).
import { Hono } from "hono";
import type { CloudConfig } from "../config/agent-config.ts";
import { type LocalNode, startLocalNode } from "../edge/local-node.ts";
import { mountHealthRoutes } from "../runtime/health.ts";
import { type Server, serveHttp } from "../runtime/serve.ts";
import { type BrokerLink, connectExternalBroker, startEmbeddedBroker } from "./broker.ts";

export interface CloudAgent extends LocalNode {
  api: Server;
  broker: BrokerLink;
}

export async function startCloud(config: CloudConfig): Promise<CloudAgent> {
  const node = await startLocalNode(config);
  const { log, lifecycle, readiness } = node;

  const broker = config.mqttUrl
    ? connectExternalBroker(config.mqttUrl, log.child({ component: "mqtt" }))
    : await startEmbeddedBroker(config.mqttListen, log.child({ component: "mqtt" }));
  lifecycle.add("broker", () => broker.close());
  readiness.add("mqtt", () => broker.readiness());

  const app = new Hono();
  mountHealthRoutes(app, readiness, node.identity);
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    log.error("api error", { path: c.req.path, error: err });
    return c.json({ error: "internal error" }, 500);
  });
  const api = serveHttp("cloud API, --api-listen", config.apiListen, app.fetch);
  lifecycle.add("api", () => api.stop(true));
  log.info("cloud API listening", { url: api.url.toString() });
  return { ...node, api, broker };
}
