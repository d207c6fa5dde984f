// The cloud's 15-minute traffic ring: a report's counts spread over the window it covers, in
// 5-second slots for 15 minutes and 1-second slots for the last minute (the second still filling
// shown as the rate of its reported part); rates per second, latency quantiles from merged
// histograms, link rates and series (bytes, errors), old slots overwritten, bounded.
import { describe, expect, test } from "bun:test";
import {
  FINE_SHOWN_MS,
  MAX_CHART_SERIES,
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
  windowMs = 2000,
): MessageOf<"traffic"> {
  return {
    v: 1,
    node: "n",
    id: "x",
    ts: "t",
    type: "traffic",
    format: 1,
    windowMs,
    latencyBounds: BOUNDS,
    services,
    links,
  };
}

const T0 = 1_000_000 * SLOT_MS;
const COARSE_STEPS = SLOTS - FINE_SHOWN_MS / SLOT_MS;

describe("traffic ring", () => {
  test("the time axis: 15 minutes in 5-second steps, the last minute in 1-second ones", () => {
    const ring = new TrafficRing();
    ring.record("edge1", report([{ service: "web", requests: 2, errors: 0 }]), T0 + 2000);
    const web = ring.service("web", T0 + 2500);
    expect(web.times).toHaveLength(COARSE_STEPS + FINE_SHOWN_MS / 1000 + 3);
    expect(web.times[0]).toBe(T0 - SLOTS * SLOT_MS);
    expect((web.times[COARSE_STEPS] as number) - (web.times[COARSE_STEPS - 1] as number)).toBe(SLOT_MS);
    expect(web.times.at(-1)).toBe(T0 + 2000);
    expect((web.times.at(-1) as number) - (web.times.at(-2) as number)).toBe(1000);
  });

  test("a report is spread over its window: a steady load is a steady rate, visible at once", () => {
    const ring = new TrafficRing();
    // Every 2 s, 20 requests: 10/s, reports not aligned with the slots.
    for (let k = 1; k <= 5; k++)
      ring.record("edge1", report([{ service: "web", requests: 20, errors: 2 }]), T0 + 300 + k * 2000);
    const now = T0 + 300 + 5 * 2000 + 100;
    const web = ring.service("web", now);
    const edge1 = web.nodes[0];
    // The newest seconds, up to the newest report (10.3 s): 10/s each, the last one from its 0.3 s.
    const recent = edge1?.requests.slice(-9) ?? [];
    expect(recent.map((v) => Math.round((v as number) * 1000) / 1000)).toEqual(new Array(9).fill(10));
    // A second nobody has reported any of yet: nothing said.
    expect(ring.service("web", T0 + 11_050).nodes[0]?.requests.at(-1)).toBeNull();
    expect(edge1?.errors.at(-2)).toBeCloseTo(1, 6);
    // A report that just arrived shows in the second it ends in, as the rate of its part.
    ring.record("edge1", report([{ service: "web", requests: 60, errors: 0 }]), T0 + 300 + 6 * 2000);
    const after = ring.service("web", T0 + 300 + 6 * 2000 + 10).nodes[0]?.requests ?? [];
    expect(after.at(-1)).toBeCloseTo(30, 6);
  });

  test("requests and errors per node per second, latency quantiles across nodes", () => {
    const ring = new TrafficRing();
    const at = T0 + 1000;
    ring.record(
      "edge1",
      report([{ service: "web", requests: 50, errors: 5, latency: [0, 50, 0, 0] }], [], 1000),
      at,
    );
    ring.record(
      "edge2",
      report([{ service: "web", requests: 10, errors: 0, latency: [0, 0, 10, 0] }], [], 1000),
      at,
    );
    const now = at + 500;
    expect(ring.serviceNames(now)).toEqual(["web"]);
    const web = ring.service("web", now);
    // The second [T0, T0 + 1 s): fully reported by both.
    expect(web.nodes.map((n) => [n.node, n.requests.at(-2), n.errors.at(-2)])).toEqual([
      ["edge1", 50, 5],
      ["edge2", 10, 0],
    ]);
    expect(web.nodes[0]?.requests.slice(0, -3).every((v) => v === 0)).toBe(true);
    // 60 samples: 50 in (1 ms, 10 ms], 10 in (10 ms, 100 ms].
    expect(web.p50.at(-2)).toBeCloseTo(0.001 + 0.009 * (30 / 50), 6);
    expect(web.p99.at(-2)).toBeCloseTo(0.01 + 0.09 * ((59.4 - 50) / 10), 6);
    expect(web.p50.at(-3)).toBeNull();
    // A minute later the same traffic is in a 5-second step: 60 requests over 5 s.
    const later = ring.service("web", now + 70_000);
    const step = later.times.indexOf(T0);
    expect(later.nodes[0]?.requests[step]).toBeCloseTo(10, 6);
    expect(later.p50[step]).toBeCloseTo(0.001 + 0.009 * (30 / 50), 6);
  });

  test("a slot older than the ring is overwritten, and a service without traffic in it is gone", () => {
    const ring = new TrafficRing();
    ring.record("edge1", report([{ service: "old", requests: 5, errors: 0 }], [], 1000), T0 + 1000);
    const later = T0 + SLOTS * SLOT_MS;
    ring.record("edge1", report([{ service: "old", requests: 7, errors: 0 }], [], 1000), later + 1000);
    const old = ring.service("old", later + 1000 + SLOT_MS * 20);
    expect(old.nodes[0]?.requests.reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBeCloseTo(7 / 5);
    expect(ring.serviceNames(later + 2 * SLOTS * SLOT_MS)).toEqual([]);
  });

  test("links: rates over the last 10 s and series, with errors and bytes (absent from older nodes: 0)", () => {
    const ring = new TrafficRing();
    for (let k = 1; k <= 10; k++) {
      ring.record(
        "edge2",
        report(
          [],
          [{ peer: "edge1", via: "relay", requests: 6, errors: 1, bytesIn: 100, bytesOut: 1000 }],
          1000,
        ),
        T0 + k * 1000,
      );
      ring.record("edge1", report([], [{ peer: "edge2", via: "direct", requests: 2 }], 1000), T0 + k * 1000);
    }
    const now = T0 + 10_000;
    const rates = ring.linkRates(now);
    expect(rates).toHaveLength(2);
    expect(rates[0]).toMatchObject({ peer: "edge1", node: "edge2", via: "relay" });
    expect(rates[0]?.perSecond).toBeCloseTo(6, 6);
    expect(rates[0]?.errorsPerSecond).toBeCloseTo(1, 6);
    expect(rates[0]?.bytesInPerSecond).toBeCloseTo(100, 6);
    expect(rates[0]?.bytesOutPerSecond).toBeCloseTo(1000, 6);
    expect(rates[1]).toMatchObject({ peer: "edge2", node: "edge1", bytesInPerSecond: 0, errorsPerSecond: 0 });
    expect(rates[1]?.perSecond).toBeCloseTo(2, 6);
    const series = ring.linkSeries(now);
    expect(series.links.map((l) => [l.peer, l.node, l.via])).toEqual([
      ["edge1", "edge2", "relay"],
      ["edge2", "edge1", "direct"],
    ]);
    expect(series.links[0]?.bytesOut.at(-2)).toBeCloseTo(1000, 6);
    expect(series.links[0]?.errors.at(-2)).toBeCloseTo(1, 6);
    // Nothing reported for a while: no rate (the map drops the link).
    expect(ring.linkRates(now + 20 * SLOT_MS)).toEqual([]);
  });

  test("a chart of many nodes: the busiest one by one, the rest as one line (the total minus those)", () => {
    const ring = new TrafficRing();
    for (let i = 0; i < 30; i++)
      ring.record(`edge${i}`, report([{ service: "web", requests: i + 1, errors: 0 }], [], 1000), T0 + 1000);
    const web = ring.service("web", T0 + 1500);
    expect(web.nodes).toHaveLength(MAX_CHART_SERIES);
    const others = web.nodes.find((n) => n.node === "21 other nodes");
    // edge29 ... edge21 (30 ... 22 requests) one by one; edge0 ... edge20 sum to 1 + ... + 21 = 231.
    expect(others?.requests.at(-2)).toBeCloseTo(231, 6);
    expect(web.nodes.map((n) => n.node)).toContain("edge29");
    expect(web.nodes.map((n) => n.node)).not.toContain("edge20");
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
