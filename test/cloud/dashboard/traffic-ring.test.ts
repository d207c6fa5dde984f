// The cloud's 15-minute traffic ring: reports land in 5-second slots per service and node, rates
// per second, latency quantiles from merged histograms, link rates, old slots overwritten, bounded.
import { describe, expect, test } from "bun:test";
import {
  MAX_SERIES,
  quantile,
  SLOT_MS,
  SLOTS,
  TrafficRing,
} from "../../../src/cloud/dashboard/traffic-ring.ts";
import type { MessageOf } from "../../../src/protocol/messages.ts";

const BOUNDS = [0.001, 0.01, 0.1];
function report(
  services: MessageOf<"traffic">["services"],
  links: MessageOf<"traffic">["links"] = [],
): MessageOf<"traffic"> {
  return {
    v: 1,
    node: "n",
    id: "x",
    ts: "t",
    type: "traffic",
    format: 1,
    windowMs: 2000,
    latencyBounds: BOUNDS,
    services,
    links,
  };
}

const T0 = 1_000_000 * SLOT_MS;

describe("traffic ring", () => {
  test("requests and errors per node per second, latency quantiles across nodes", () => {
    const ring = new TrafficRing();
    ring.record("edge1", report([{ service: "web", requests: 50, errors: 5, latency: [0, 50, 0, 0] }]), T0);
    ring.record(
      "edge2",
      report([{ service: "web", requests: 10, errors: 0, latency: [0, 0, 10, 0] }]),
      T0 + 100,
    );
    // The slot still filling is not shown: one slot later it is.
    const now = T0 + SLOT_MS;
    expect(ring.serviceNames(now)).toEqual(["web"]);
    const web = ring.service("web", now);
    expect(web.times).toHaveLength(SLOTS);
    expect(web.times.at(-1)).toBe(T0);
    expect(web.nodes.map((n) => [n.node, n.requests.at(-1), n.errors.at(-1)])).toEqual([
      ["edge1", 10, 1],
      ["edge2", 2, 0],
    ]);
    expect(web.nodes[0]?.requests.slice(0, -1).every((v) => v === 0)).toBe(true);
    // 60 samples: 50 in (1 ms, 10 ms], 10 in (10 ms, 100 ms].
    expect(web.p50.at(-1)).toBeCloseTo(0.001 + 0.009 * (30 / 50), 6);
    expect(web.p99.at(-1)).toBeCloseTo(0.01 + 0.09 * ((59.4 - 50) / 10), 6);
    expect(web.p50.at(-2)).toBeNull();
  });

  test("a slot older than the ring is overwritten, and a service without traffic in it is gone", () => {
    const ring = new TrafficRing();
    ring.record("edge1", report([{ service: "old", requests: 5, errors: 0 }]), T0);
    const later = T0 + SLOTS * SLOT_MS;
    ring.record("edge1", report([{ service: "old", requests: 7, errors: 0 }]), later);
    const old = ring.service("old", later + SLOT_MS);
    expect(old.nodes[0]?.requests.reduce((a, b) => a + b, 0)).toBeCloseTo(7 / 5);
    expect(ring.serviceNames(later + 2 * SLOTS * SLOT_MS)).toEqual([]);
  });

  test("link rates over the last 30 s: requests, errors, bytes both ways (absent from older nodes: 0)", () => {
    const ring = new TrafficRing();
    for (let k = 0; k < 6; k++)
      ring.record(
        "edge2",
        report([], [{ peer: "edge1", via: "relay", requests: 30, errors: 3, bytesIn: 600, bytesOut: 6000 }]),
        T0 + k * SLOT_MS,
      );
    ring.record("edge1", report([], [{ peer: "edge2", via: "direct", requests: 60 }]), T0);
    expect(ring.linkRates(T0 + 6 * SLOT_MS)).toEqual([
      {
        peer: "edge1",
        node: "edge2",
        via: "relay",
        perSecond: 6,
        errorsPerSecond: 0.6,
        bytesInPerSecond: 120,
        bytesOutPerSecond: 1200,
      },
      {
        peer: "edge2",
        node: "edge1",
        via: "direct",
        perSecond: 2,
        errorsPerSecond: 0,
        bytesInPerSecond: 0,
        bytesOutPerSecond: 0,
      },
    ]);
    expect(ring.linkRates(T0 + 20 * SLOT_MS)).toEqual([]);
  });

  test("the number of series is bounded", () => {
    const ring = new TrafficRing();
    const many = Array.from({ length: MAX_SERIES + 10 }, (_, i) => ({
      service: `s${i}`,
      requests: 1,
      errors: 0,
    }));
    ring.record("edge1", report(many), T0);
    expect(ring.serviceNames(T0 + SLOT_MS)).toHaveLength(MAX_SERIES);
  });

  test("quantile: none without samples; above the last bound, the last bound", () => {
    expect(quantile([0, 0, 0, 0], BOUNDS, 0.5)).toBeNull();
    expect(quantile([0, 0, 0, 4], BOUNDS, 0.5)).toBe(0.1);
    expect(quantile([4, 0, 0, 0], BOUNDS, 0.5)).toBeCloseTo(0.0005);
  });
});
