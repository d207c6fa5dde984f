// When the cloud moves to another host (a restore from backup on a new machine, a renumbered
// network), the operator changes the edge's `cloud:` URL and restarts it; the edge keeps its
// identity and its workers. Its MQTT URL came from the join answer and is kept with the identity:
// when it named the old cloud's host (the embedded broker, the usual case), it follows the cloud
// to the new host, same scheme and port; an MQTT URL on another host (an external broker) stays.
// Pure: the edge's start (edge-agent.ts) stores the result with the new cloud URL in one
// transaction, so a crash never leaves one updated without the other.

/** The MQTT URL after the cloud moved from `previousCloud` to `cloud`; undefined when it stays. */
export function mqttUrlAfterCloudMove(
  previousCloud: string,
  cloud: string,
  mqttUrl: string,
): string | undefined {
  let before: URL;
  let after: URL;
  let broker: URL;
  try {
    before = new URL(previousCloud);
    after = new URL(cloud);
    broker = new URL(mqttUrl);
  } catch {
    return undefined;
  }
  if (before.hostname === after.hostname) return undefined;
  if (broker.hostname !== before.hostname) return undefined;
  broker.hostname = after.hostname;
  // URL keeps a trailing "/" on an empty path that the join answer did not have.
  const moved = broker.toString();
  return mqttUrl.endsWith("/") || !moved.endsWith("/") ? moved : moved.slice(0, -1);
}
