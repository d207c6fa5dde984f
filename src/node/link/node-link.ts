// The MQTT link of this node to the cloud (docs/PROTOCOL.md), started the same way on an edge and
// on the cloud's own node, with the parts it feeds already made: plans it stores go to the
// supervisor (applied in order), catalogs it receives to the catalog store, and it sends the
// worker status the supervisor records in the status outbox.

import type { CatalogStore } from "../../mesh/catalog/catalog-store.ts";
import { parseCatalog } from "../../mesh/catalog/schema.ts";
import type { ClientTls } from "../../protocol/mqtt-session.ts";
import { CATALOG_TOPIC } from "../../protocol/topics.ts";
import { versionInfo } from "../../runtime/version.ts";
import type { NodeIdentity } from "../identity.ts";
import type { LocalNode } from "../local-node.ts";
import type { Supervisor } from "../workers/supervisor.ts";
import { type EdgeLink, type EdgeLinkOptions, startEdgeLink } from "./edge-link.ts";
import type { StatusOutbox } from "./status-outbox.ts";

export interface NodeLinkOptions {
  /** The broker URL; default the one from the join. */
  url?: string;
  tls?: ClientTls | undefined;
  /** Name of the readiness check and of the log component. */
  check: string;
  /** Where the plans the link stores go. */
  supervisor: Pick<Supervisor, "apply">;
  /** Where the catalogs the link receives go. */
  catalog: Pick<CatalogStore, "offer">;
  /** The node's status outbox, which the link sends from. */
  outbox: StatusOutbox;
  /** The usage its heartbeats carry. */
  usage?: EdgeLinkOptions["usage"];
}

export function startNodeLink(
  node: Pick<LocalNode, "config" | "store" | "log" | "lifecycle" | "readiness">,
  identity: NodeIdentity,
  options: NodeLinkOptions,
): EdgeLink {
  const { store, config, log, lifecycle, readiness } = node;
  const { supervisor, catalog } = options;
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
    outbox: options.outbox,
    usage: options.usage,
    // A refusal means the node was removed only once the broker has accepted these credentials:
    // right after a join an external broker may not have read its new password file yet.
    credentialsRefused: () =>
      store.getMeta(CREDENTIALS_ACCEPTED) ? removedMessage(identity.name, config.dataDir) : undefined,
    onConnected: () => {
      if (!store.getMeta(CREDENTIALS_ACCEPTED)) store.setMeta(CREDENTIALS_ACCEPTED, new Date().toISOString());
    },
    onPlan: (plan) => {
      log.info("plan stored", { revision: plan.revision, epoch: plan.epoch });
      // Failures are logged by the supervisor; the next plan is applied regardless.
      void supervisor.apply(plan).catch(() => {});
    },
  });
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
  return link;
}

/** Meta key: when the broker first accepted this node's credentials. */
const CREDENTIALS_ACCEPTED = "mqtt-credentials-accepted";

/**
 * Why a broker refuses a joined node's credentials: the node was deleted from the cluster (its
 * identity is forgotten there; the embedded broker disconnects it at once), and how it comes back.
 */
export function removedMessage(node: string, dataDir: string): string {
  return (
    `node ${node} was removed from the cluster (levee ctl delete node ${node}) or its credentials were replaced; ` +
    `its workers keep running but get no new plans. To join again: stop this agent, move ${dataDir} aside, ` +
    "and start it with a new join token (levee ctl token create)"
  );
}
