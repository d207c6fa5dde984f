// The MQTT link of this node to the cloud (docs/PROTOCOL.md), started the same way on an edge and
// on the cloud's own node: its identity from the join, the plan store, and a readiness check.
import { versionInfo } from "../runtime/version.ts";
import { type EdgeLink, startEdgeLink } from "../sync/edge-link.ts";
import type { ClientTls } from "../sync/mqtt-session.ts";
import type { NodeIdentity } from "./join.ts";
import type { LocalNode } from "./local-node.ts";

export interface NodeLinkOptions {
  /** The broker URL; default the one from the join. */
  url?: string;
  tls?: ClientTls | undefined;
  /** Name of the readiness check and of the log component. */
  check: string;
}

export function startNodeLink(node: LocalNode, identity: NodeIdentity, options: NodeLinkOptions): EdgeLink {
  const { store, config, log, lifecycle, readiness } = node;
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
    onPlan: (plan) => log.info("plan stored", { revision: plan.revision, epoch: plan.epoch }),
  });
  lifecycle.add(options.check, () => link.close());
  readiness.add(options.check, () => link.state());
  return link;
}
