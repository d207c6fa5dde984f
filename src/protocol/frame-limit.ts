// A byte bound for MQTT packets before they are buffered: aedes (through mqtt-packet) collects a
// whole packet in memory before parsing it, and MQTT allows 256 MiB, so any client (even one that
// never authenticates: CONNECT is a packet too) could make the broker hold that much. This reads
// the fixed header of each packet as bytes stream past (type byte + "remaining length" varint)
// and says when one announces more than the limit. Pure: the broker feeds it socket chunks.

export type FrameVerdict = { ok: true } | { ok: false; size: number; reason: string };

export interface FrameLimit {
  feed(chunk: Uint8Array): FrameVerdict;
}

export function createFrameLimit(maxPacketBytes: number): FrameLimit {
  // State between chunks: where we are within the current packet's fixed header or body.
  let stage: "type" | "length" | "body" = "type";
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  let failed: FrameVerdict | undefined;

  return {
    feed(chunk) {
      if (failed) return failed;
      let i = 0;
      while (i < chunk.length) {
        if (stage === "body") {
          const take = Math.min(remaining, chunk.length - i);
          remaining -= take;
          i += take;
          if (remaining === 0) stage = "type";
          continue;
        }
        const byte = chunk[i++] as number;
        if (stage === "type") {
          stage = "length";
          length = 0;
          multiplier = 1;
          lengthBytes = 0;
          continue;
        }
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        if (byte & 0x80) {
          if (lengthBytes >= 4) {
            failed = { ok: false, size: Number.NaN, reason: "malformed remaining length" };
            return failed;
          }
          continue;
        }
        const size = 1 + lengthBytes + length;
        if (size > maxPacketBytes) {
          failed = { ok: false, size, reason: `packet of ${size} bytes exceeds ${maxPacketBytes}` };
          return failed;
        }
        remaining = length;
        stage = remaining === 0 ? "type" : "body";
      }
      return { ok: true };
    },
  };
}
