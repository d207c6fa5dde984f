// The MQTT link of this node to the cloud (docs/PROTOCOL.md) and the supervisor that runs the
// node's plan, started the same way on an edge and on the cloud's own node. The supervisor
// starts from the plan stored in SQLite before the link says anything, so a node whose cloud is
// unreachable runs (and adopts) its workers at once; plans the link receives later are applied
// in order, and worker status flows back through the link's durable outbox.

import { CatalogStore } from "../../mesh/catalog/catalog-store.ts";
import { parseCatalog } from "../../mesh/catalog/schema.ts";
import type { ClientTls } from "../../protocol/mqtt-session.ts";
import { CATALOG_TOPIC } from "../../protocol/topics.ts";
import { versionInfo } from "../../runtime/version.ts";
import type { NodeIdentity } from "../identity.ts";
import type { LocalNode } from "../local-node.ts";
import { startSupervisor } from "../workers/start-supervisor.ts";
import { type EdgeLink, startEdgeLink } from "./edge-link.ts";
import { readStoredPlan } from "./plan-store.ts";

export interface NodeLinkOptions {
  /** The broker URL; default the one from the join. */
  url?: string;
  tls?: ClientTls | undefined;
  /** Name of the readiness check and of the log component. */
  check: string;
}

export function startNodeLink(node: LocalNode, identity: NodeIdentity, options: NodeLinkOptions): EdgeLink {
  const { store, config, log, lifecycle, readiness } = node;
  const supervisor = startSupervisor(node, identity.name);
  const link = startEdgeLink({
    store,
    log: log.child({ component: options.check }),
    node: identity.name,
    url: options.url ?? identity.mqttUrl,
    ...(options.tls ? { tls: options.tls } : {}),
    username: identity.username,
    password: identity.password,
    agentVersion: versionInfo().version,
    addresses: [config.advertiseAddress],
    onPlan: (plan) => {
      log.info("plan stored", { revision: plan.revision, epoch: plan.epoch });
      supervisor.apply(plan);
    },
  });
  supervisor.setStatusSink((status) => link.recordStatus(status));
  const catalog = new CatalogStore(store);
  node.catalog = catalog;
  node.nodeName = identity.name;
  link.subscribe(CATALOG_TOPIC, (payload) => {
    const parsed = parseCatalog(payload.toString("utf8"));
    if (!parsed.ok) {
      log.warn("dropped a catalog that this agent cannot read", { reason: parsed.reason });
      return;
    }
    if (catalog.offer(parsed.catalog) === "accept") {
      log.debug("catalog stored", { revision: parsed.catalog.revision, epoch: parsed.catalog.epoch });
    }
  });
  lifecycle.add(options.check, () => link.close());
  readiness.add(options.check, () => link.state());
  node.supervisor = supervisor;
  supervisor.start(readStoredPlan(store)).catch((err: Error) => {
    log.error("the supervisor could not start the stored plan", { error: err.message });
  });
  return link;
}
