// The MQTT topics of the sync protocol (docs/PROTOCOL.md, "Topics"): builders, and the parser
// that turns a received topic back into (node, channel). Everything lives under levee/v1/.
import { isDnsSubdomain } from "../runtime/dns-name.ts";

export const TOPIC_ROOT = "levee/v1/";
/** The cloud's MQTT username; no node may be called this (join must refuse the name). */
export const CLOUD_USER = "levee-cloud";

export type Channel = "up" | "down" | "presence";
const CHANNELS: ReadonlySet<string> = new Set<Channel>(["up", "down", "presence"]);

/**
 * What a node name must look like (in a topic and everywhere else): a DNS subdomain (lower case
 * letters, digits, '-' and '.', e.g. `edge-1` or `cloud.kubeedge`), so never '/', '+', '#' or '$',
 * which would change what a topic or an ACL matches.
 */
export const isNodeName: (name: string) => boolean = isDnsSubdomain;

function nodeTopic(node: string, channel: Channel): string {
  if (!isNodeName(node)) throw new Error(`invalid node name for a topic: ${JSON.stringify(node)}`);
  return `${TOPIC_ROOT}node/${node}/${channel}`;
}

export const upTopic = (node: string): string => nodeTopic(node, "up");
export const downTopic = (node: string): string => nodeTopic(node, "down");
export const presenceTopic = (node: string): string => nodeTopic(node, "presence");

/** Log requests from the cloud to a node (src/protocol/log-request.ts): not a protocol channel. */
export function logsTopic(node: string): string {
  if (!isNodeName(node)) throw new Error(`invalid node name for a topic: ${JSON.stringify(node)}`);
  return `${TOPIC_ROOT}node/${node}/logs`;
}

export function sharedTopic(name: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name)) throw new Error(`invalid shared topic: ${name}`);
  return `${TOPIC_ROOT}shared/${name}`;
}

/** The mesh catalog, retained: every node reads it (src/cloud/catalog/, src/mesh/catalog/). */
export const CATALOG_TOPIC = `${TOPIC_ROOT}shared/catalog`;

/** What the cloud subscribes to: every node's up and presence topics. */
export const CLOUD_SUBSCRIPTIONS: readonly string[] = [
  `${TOPIC_ROOT}node/+/up`,
  `${TOPIC_ROOT}node/+/presence`,
];
/** levee/v1/node/<node>/<channel> → {node, channel}; anything else → undefined. */
export function parseNodeTopic(topic: string): { node: string; channel: Channel } | undefined {
  if (!topic.startsWith(`${TOPIC_ROOT}node/`)) return undefined;
  const parts = topic.slice(TOPIC_ROOT.length).split("/");
  if (parts.length !== 3) return undefined;
  const [, node, channel] = parts;
  if (node === undefined || channel === undefined) return undefined;
  if (!isNodeName(node) || !CHANNELS.has(channel)) return undefined;
  return { node, channel: channel as Channel };
}
