// Whether a node has an MQTT session at the cloud's embedded broker now (only the embedded broker
// can tell; with an external one the cloud cannot know). What the cloud asks a node over MQTT — a
// log, its metrics, an exec session — is answered 503 at once for a node without one, instead of
// waiting for an answer that cannot come (504 after the timeout).

/** Whether a client authenticated as the node is connected to the broker now. */
export type NodeConnected = (node: string) => boolean;

/** The 503's message. */
export function notConnectedMessage(node: string): string {
  return `node ${node} is not connected to the cloud's MQTT broker now; try again when it is back`;
}
