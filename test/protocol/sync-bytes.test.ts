// The kind a sync packet is counted under (levee_sync_bytes_total{kind}): every message type the
// protocol has names itself (staging reports and upgrade orders too), anything else on a node topic
// is "other", and the label set stays bounded; acks, keep-alives and the catalog by their packet.
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { CHANNEL_OF } from "../../src/protocol/messages.ts";
import { packetBytes, packetKind } from "../../src/protocol/sync-bytes.ts";
import { CATALOG_TOPIC, downTopic, upTopic } from "../../src/protocol/topics.ts";

const publish = (topic: string, type: string) => ({
  cmd: "publish",
  topic,
  payload: Buffer.from(JSON.stringify({ v: 1, type, node: "edge1", id: "i" })),
});

describe("packetKind", () => {
  test("every message type of the protocol is its own kind", () => {
    for (const type of Object.keys(CHANNEL_OF)) {
      const topic =
        CHANNEL_OF[type as keyof typeof CHANNEL_OF] === "down" ? downTopic("edge1") : upTopic("edge1");
      expect(packetKind(publish(topic, type))).toBe(type);
    }
    expect(packetKind(publish(upTopic("edge1"), "staging"))).toBe("staging");
    expect(packetKind(publish(downTopic("edge1"), "upgrade"))).toBe("upgrade");
  });

  test("an unknown type is other; acks, keep-alives and the catalog by their packet", () => {
    expect(packetKind(publish(upTopic("edge1"), "made-up"))).toBe("other");
    expect(packetKind({ cmd: "publish", topic: CATALOG_TOPIC, payload: Buffer.from("{}") })).toBe("catalog");
    expect(packetKind({ cmd: "puback" })).toBe("puback");
    expect(packetKind({ cmd: "pingreq" })).toBe("keepalive");
    expect(packetBytes({ cmd: "puback" })).toBe(4);
  });
});
