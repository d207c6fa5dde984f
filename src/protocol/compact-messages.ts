// The compact messages' payloads: a beat (an idle node's heartbeat) and a sack (the cloud's ack of
// a status batch), each in the fewest bytes: no id, timestamp or node (the topic names the node),
// sent at QoS 0 because what they say is said again if lost (the next beat; the heartbeat's resend
// of unacknowledged status). (A lean packed plan leaves the same fields out: encodeMessage's lean
// form.) Their schemas are with the others (messages.ts), which decodes them.
import { type Beat, EPOCH_TAG_CHARS, PROTOCOL_VERSION, type Sack } from "./messages.ts";

/** A beat's payload: the node's applied plan in the fewest bytes (no id, timestamp or node). */
export function encodeBeat(epoch: string | null, revision: number): Buffer {
  const beat: Omit<Beat, "node"> = { v: PROTOCOL_VERSION, type: "beat", e: epochTag(epoch), r: revision };
  return Buffer.from(JSON.stringify(beat), "utf8");
}

/** A sack's payload: the stored status batch's seq in the fewest bytes (no id, timestamp or node). */
export function encodeSack(seq: number): Buffer {
  const sack: Omit<Sack, "node"> = { v: PROTOCOL_VERSION, type: "sack", s: seq };
  return Buffer.from(JSON.stringify(sack), "utf8");
}

/** The part of an epoch a beat carries ("" for none). */
export function epochTag(epoch: string | null): string {
  return epoch === null ? "" : epoch.slice(0, EPOCH_TAG_CHARS);
}
