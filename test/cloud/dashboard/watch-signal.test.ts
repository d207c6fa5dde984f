// The watch signal: retained "watching" while someone watches (published again before its time to
// live runs out), cleared when nobody does; a failed publish is tried again.
import { afterEach, describe, expect, test } from "bun:test";
import { reportInterval, WatchSignalPublisher } from "../../../src/cloud/dashboard/watch-signal.ts";
import { parseWatchSignal } from "../../../src/protocol/traffic.ts";

const publishers: WatchSignalPublisher[] = [];
afterEach(() => {
  for (const p of publishers.splice(0)) p.close();
});

function setup(connected: { ok: boolean }) {
  const sent: string[] = [];
  const publisher = new WatchSignalPublisher({
    publish: (payload) => {
      if (!connected.ok) return false;
      const parsed = parseWatchSignal(payload);
      sent.push(parsed.ok ? String(parsed.signal.watching) : "bad");
      return true;
    },
    republishMs: 30,
    retryMs: 20,
  });
  publishers.push(publisher);
  return { sent, publisher };
}

describe("watch signal", () => {
  test("cleared at start, watching while watched (again and again), cleared after", async () => {
    const { sent, publisher } = setup({ ok: true });
    publisher.start();
    expect(sent).toEqual(["false"]);
    publisher.set(true);
    await Bun.sleep(100);
    expect(sent.filter((s) => s === "true").length).toBeGreaterThanOrEqual(3);
    publisher.set(false);
    const count = sent.length;
    await Bun.sleep(80);
    expect(sent.length).toBe(count);
    expect(sent.at(-1)).toBe("false");
  });

  test("a publish that failed is tried again", async () => {
    const connected = { ok: false };
    const { sent, publisher } = setup(connected);
    publisher.start();
    publisher.set(true);
    expect(sent).toEqual([]);
    connected.ok = true;
    await Bun.sleep(40);
    expect(sent[0]).toBe("true");
  });

  test("nodes report every 2 s, less often in a large fleet (about 100 reports a second at most)", () => {
    expect([1, 200, 201, 700, 1000, 5000].map(reportInterval)).toEqual([2, 2, 3, 7, 10, 10]);
  });
});
