// The traffic message and the watch signal on the wire: a valid report decodes on a node's up topic;
// oversized or malformed ones are dropped with a reason; the watch signal is bounded and versioned.
import { describe, expect, test } from "bun:test";
import { decodeMessage, encodeMessage, newMessage } from "../../src/protocol/messages.ts";
import {
  encodeWatchSignal,
  MAX_TRAFFIC_ENTRIES,
  parseWatchSignal,
  WATCH_TOPIC,
} from "../../src/protocol/traffic.ts";

const body = {
  type: "traffic" as const,
  format: 1 as const,
  windowMs: 2000,
  latencyBounds: [0.01, 0.1],
  services: [{ service: "web", requests: 3, errors: 1, latency: [1, 2, 0] }],
  links: [{ peer: "edge2", via: "direct" as const, requests: 3 }],
};

describe("traffic on the wire", () => {
  test("a report decodes on the node's up topic, not down", () => {
    const payload = encodeMessage(newMessage("edge1", body));
    const up = decodeMessage("edge1", payload, "up");
    expect(up.ok && up.msg.type).toBe("traffic");
    expect(decodeMessage("edge1", payload, "down")).toMatchObject({ ok: false, reason: "bad-schema" });
  });

  test("a link's errors and bytes are optional: a report from an older node (requests only) decodes", () => {
    const link = { peer: "edge2", via: "direct" as const, requests: 3 };
    const full = { ...body, links: [{ ...link, errors: 1, bytesIn: 300, bytesOut: 4000 }] };
    for (const b of [body, full]) {
      const up = decodeMessage("edge1", encodeMessage(newMessage("edge1", b)), "up");
      expect(up.ok && up.msg.type === "traffic" && up.msg.links[0]).toEqual(b.links[0] as never);
    }
    const negative = { ...body, links: [{ ...link, bytesIn: -1 }] };
    const payload = Buffer.from(JSON.stringify({ v: 1, node: "edge1", id: "1", ts: "t", ...negative }));
    expect(decodeMessage("edge1", payload, "up")).toMatchObject({ ok: false, reason: "bad-schema" });
  });

  test("too many entries, negative counts, an unknown format or path are refused", () => {
    const bad = [
      { ...body, services: Array.from({ length: MAX_TRAFFIC_ENTRIES + 1 }, () => body.services[0]) },
      { ...body, services: [{ service: "web", requests: -1, errors: 0 }] },
      { ...body, format: 2 },
      { ...body, links: [{ peer: "edge2", via: "carrier-pigeon", requests: 1 }] },
      { ...body, latencyBounds: Array.from({ length: 40 }, (_, i) => i + 1) },
    ];
    for (const b of bad) {
      const payload = Buffer.from(JSON.stringify({ v: 1, node: "edge1", id: "1", ts: "t", ...b }));
      expect(decodeMessage("edge1", payload, "up")).toMatchObject({ ok: false, reason: "bad-schema" });
    }
  });

  test("the watch signal: retained under shared/, versioned, bounded; empty means nobody watches", () => {
    expect(WATCH_TOPIC).toBe("levee/v1/shared/dashboard");
    const signal = { v: 1 as const, watching: true, intervalSeconds: 2, ttlSeconds: 60 };
    expect(parseWatchSignal(encodeWatchSignal(signal))).toEqual({ ok: true, signal });
    expect(parseWatchSignal(Buffer.alloc(0))).toMatchObject({ ok: true, signal: { watching: false } });
    expect(parseWatchSignal(Buffer.from('{"v":2}')).ok).toBe(false);
    expect(parseWatchSignal(Buffer.from("{".repeat(2000))).ok).toBe(false);
    expect(parseWatchSignal(Buffer.from(JSON.stringify({ ...signal, intervalSeconds: 0 }))).ok).toBe(false);
  });
});
