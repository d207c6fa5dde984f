// The live feed: watchers hear which topics changed (an apply changes workers and events), nothing
// when nothing changed, traffic reports as "traffic" (the first at once, a burst once per
// trafficMs), and the feed does no work while nobody watches.
import { afterAll, describe, expect, test } from "bun:test";
import { LiveFeed, type Topic } from "../../../src/cloud/dashboard/live-feed.ts";
import { joinNode } from "../../../src/cloud/node-registry.ts";
import { mosquittoHasher } from "../../../src/protocol/mosquitto-password.ts";
import { inProcessCloud } from "../../harness/cloud-api.ts";

const { store, plane } = inProcessCloud();
afterAll(() => store.close());

describe("live feed", () => {
  test("an apply is heard as nodes (plan revision), workers and events; a quiet store says nothing", async () => {
    joinNode(
      store,
      mosquittoHasher,
      { name: "edge1", labels: {}, addresses: [], agentVersion: "0.1.0", arch: "x64" },
      () => {},
    );
    const feed = new LiveFeed({ store, plane, intervalMs: 3_600_000, refreshMs: 3_600_000 });
    const heard: Topic[][] = [];
    const stop = feed.watch((topics) => heard.push(topics));
    feed.check();
    expect(heard).toEqual([]);
    // The event the apply emits wakes the feed (no interval needed), 50 ms after a burst began.
    plane.apply([
      {
        apiVersion: "levee/v1",
        kind: "Service",
        metadata: { name: "web", labels: {} },
        spec: { template: { command: ["run"] }, workers: [{ node: "edge1" }] },
      } as never,
    ]);
    expect(heard).toEqual([]);
    await Bun.sleep(80);
    // Its plan revision moved too (the map shows plan applied / desired).
    expect(heard.at(-1)).toEqual(["nodes", "workers", "events"]);
    store.db.query("UPDATE nodes SET phase = 'Ready' WHERE name = 'edge1'").run();
    feed.check();
    expect(heard.at(-1)).toEqual(["nodes"]);
    const count = heard.length;
    feed.check();
    expect(heard.length).toBe(count);
    stop();
    expect(feed.watching).toBe(0);
    store.db.query("UPDATE nodes SET phase = 'Lost' WHERE name = 'edge1'").run();
    feed.check();
    expect(heard.length).toBe(count);
  });

  test("every refresh interval, nodes are sent without a change (last seen, usage)", () => {
    const feed = new LiveFeed({ store, plane, intervalMs: 3_600_000, refreshMs: 1000 });
    const heard: Topic[][] = [];
    const stop = feed.watch((topics) => heard.push(topics));
    feed.check(Date.now() + 2000);
    expect(heard).toEqual([["nodes"]]);
    stop();
  });

  test("traffic reports: the first at once, a burst once more after trafficMs; nothing unwatched", async () => {
    const feed = new LiveFeed({ store, plane, intervalMs: 3_600_000, refreshMs: 3_600_000, trafficMs: 100 });
    feed.trafficArrived();
    const heard: Topic[][] = [];
    const stop = feed.watch((topics) => heard.push(topics));
    await Bun.sleep(20);
    expect(heard).toEqual([]);
    feed.trafficArrived();
    await Bun.sleep(20);
    expect(heard).toEqual([["traffic"]]);
    for (let i = 0; i < 50; i++) feed.trafficArrived();
    await Bun.sleep(30);
    expect(heard).toHaveLength(1);
    await Bun.sleep(100);
    expect(heard).toEqual([["traffic"], ["traffic"]]);
    feed.trafficArrived();
    stop();
    await Bun.sleep(150);
    expect(heard).toHaveLength(2);
  });
});
