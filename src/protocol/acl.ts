// Who may publish and subscribe to what (docs/PROTOCOL.md, "ACL"), as pure functions that the
// embedded broker calls. Node N publishes only levee/v1/node/N/up and .../N/presence and
// subscribes only to levee/v1/node/N/down, .../N/logs and levee/v1/shared/...; levee-cloud uses
// levee/v1/#.
// Subscriptions are topic FILTERS: a wildcard that could match another node's topic ("+", "#")
// is refused rather than trusted to be filtered later.
import {
  CLOUD_USER,
  downTopic,
  isNodeName,
  logsTopic,
  presenceTopic,
  TOPIC_ROOT,
  upTopic,
} from "./topics.ts";

const SHARED_PREFIX = `${TOPIC_ROOT}shared/`;

/** A topic name a client may publish to: non-empty, no wildcards, no NUL. */
function isTopicName(topic: string): boolean {
  return topic.length > 0 && topic.length <= 65535 && !/[+#]/.test(topic) && !topic.includes("\u0000");
}

/** A well-formed topic filter: '+' and '#' only as whole levels, '#' only last. */
export function isTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65535 || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  return levels.every((level, i) => {
    if (level.includes("#")) return level === "#" && i === levels.length - 1;
    if (level.includes("+")) return level === "+";
    return true;
  });
}

export function mayPublish(user: string | undefined, topic: string): boolean {
  if (user === undefined || !isTopicName(topic)) return false;
  if (user === CLOUD_USER) return topic.startsWith(TOPIC_ROOT);
  if (!isNodeName(user)) return false;
  return topic === upTopic(user) || topic === presenceTopic(user);
}

export function maySubscribe(user: string | undefined, filter: string): boolean {
  if (user === undefined || !isTopicFilter(filter)) return false;
  // The first levels must be literal: "+/v1/..." or "#" would reach beyond levee/v1/.
  if (user === CLOUD_USER) return filter.startsWith(TOPIC_ROOT);
  if (!isNodeName(user)) return false;
  if (filter === downTopic(user)) return true;
  if (filter === logsTopic(user)) return true;
  // Anything under shared/ is for every node, wildcards included.
  return filter.startsWith(SHARED_PREFIX) && filter.length > SHARED_PREFIX.length;
}

/**
 * The MQTT client id a user may connect with. Nodes use exactly levee-<node>, so that one node
 * cannot take over (and thereby disconnect) another node's session. The cloud's ids start with
 * "levee-cloud_" — '_' is not allowed in a node name, so they never collide with a node's (a node
 * may well be called "cloud" or "cloud.kubeedge": its id is levee-cloud or levee-cloud.kubeedge).
 */
export function mayUseClientId(user: string | undefined, clientId: string): boolean {
  if (user === undefined) return false;
  if (user === CLOUD_USER) return clientId.startsWith(CLOUD_CLIENT_ID_PREFIX);
  return isNodeName(user) && clientId === nodeClientId(user);
}

export const CLOUD_CLIENT_ID_PREFIX = `${CLOUD_USER}_`;

export function nodeClientId(node: string): string {
  return `levee-${node}`;
}

export function cloudClientId(suffix: string): string {
  return `${CLOUD_CLIENT_ID_PREFIX}${suffix}`;
}
