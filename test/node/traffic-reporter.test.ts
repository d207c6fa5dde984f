// Traffic reports: nothing until the cloud's watch signal says so; then every interval what the
// mesh counted since the last report (per service, per peer and path); nothing after the signal
// is withdrawn or its time to live ran out; a signal it cannot read stops it.
import { afterEach, describe, expect, test } from "bun:test";
import { WorkerCells } from "../../src/mesh/routing/worker-counters.ts";
import { PeerTraffic, type TrafficBody, TrafficReporter } from "../../src/node/traffic-reporter.ts";
import { encodeWatchSignal } from "../../src/protocol/traffic.ts";

const reporters: TrafficReporter[] = [];
afterEach(() => {
  for (const r of reporters.splice(0)) r.stop();
});

function setup() {
  let now = 0;
  const cells = new WorkerCells([0.01, 0.1]);
  const peers = new PeerTraffic();
  const sent: TrafficBody[] = [];
  const reporter = new TrafficReporter({ cells, peers, send: (b) => sent.push(b) > 0, now: () => now });
  reporters.push(reporter);
  return { cells, peers, sent, reporter, advance: (ms: number) => (now += ms) };
}

const watching = (ttlSeconds = 60) =>
  encodeWatchSignal({ v: 1, watching: true, intervalSeconds: 2, ttlSeconds });

describe("traffic reporter", () => {
  test("reports only what changed since the last report, while watched", () => {
    const { cells, peers, sent, reporter, advance } = setup();
    const a0 = cells.cell("web", "edge1", 0, "http");
    a0.finished("ok");
    reporter.tick();
    expect(reporter.reporting).toBe(false);
    reporter.signal(watching());
    expect(reporter.reporting).toBe(true);
    // Counted before the signal: not in the first report.
    a0.finished("ok");
    a0.finished("5xx");
    a0.observe(0.05);
    cells.cell("web", "edge1", 1, "http").finished("timeout");
    const link = peers.link("edge2", "relay");
    link.requests += 2;
    link.errors += 1;
    link.bytesIn += 300;
    link.bytesOut += 5000;
    advance(2000);
    reporter.tick();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      type: "traffic",
      format: 1,
      windowMs: 2000,
      latencyBounds: [0.01, 0.1],
      services: [{ service: "web", requests: 3, errors: 2, latency: [0, 1, 0] }],
      links: [{ peer: "edge2", via: "relay", requests: 2, errors: 1, bytesIn: 300, bytesOut: 5000 }],
    });
    advance(2000);
    reporter.tick();
    expect(sent[1]).toMatchObject({ services: [], links: [] });
  });

  test("stops when the signal is withdrawn, when its time runs out, or when it cannot be read", () => {
    const { sent, reporter, advance } = setup();
    reporter.signal(watching());
    reporter.signal(Buffer.alloc(0));
    expect(reporter.reporting).toBe(false);
    reporter.signal(watching(10));
    advance(11_000);
    reporter.tick();
    expect(reporter.reporting).toBe(false);
    expect(sent).toHaveLength(0);
    reporter.signal(watching());
    reporter.signal(Buffer.from('{"v":2,"watching":true}'));
    expect(reporter.reporting).toBe(false);
    reporter.signal(watching());
    reporter.signal(Buffer.from("x".repeat(5000)));
    expect(reporter.reporting).toBe(false);
  });
});
