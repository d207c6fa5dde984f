// What heartbeats cost one node a day at the interval the fleet size gives (protocol/heartbeat.ts):
// the mean size of the heartbeat packets the cloud received (as its session counts them: the
// node's publish has the same topic and payload) plus the broker's 4-byte PUBACK to the node,
// times the heartbeats in a day. Undefined (the gauge reads 0) until a heartbeat was measured.
import { packetBytes, type SyncBytes } from "../../protocol/sync-bytes.ts";

/** The PUBACK a QoS 1 publish costs its sender's link (4 bytes). */
export const PUBACK_BYTES = packetBytes({ cmd: "puback" });

export function heartbeatBytesPerDay(
  bytes: Pick<SyncBytes, "bytesOf" | "packetsOf">,
  heartbeatSeconds: number,
): number | undefined {
  const packets = bytes.packetsOf("received", "heartbeat");
  if (packets === 0 || heartbeatSeconds <= 0) return undefined;
  const mean = bytes.bytesOf("received", "heartbeat") / packets;
  return Math.round(((mean + PUBACK_BYTES) * 86_400) / heartbeatSeconds);
}
