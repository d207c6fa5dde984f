// The edge's welcome handler without a broker: the hello is answered (no more retries), the mesh
// routes are reported again, the cloud's view is kept, and a new interval restarts the heartbeats.
import { describe, expect, test } from "bun:test";
import { handleWelcome } from "../../../../src/node/link/handlers/welcome.ts";
import { newMessage, type RouteStatusEntry } from "../../../../src/protocol/messages.ts";
import { edgeFixture, NODE } from "./fixture.ts";

const welcome = (heartbeatSeconds: number) =>
  newMessage(NODE, { type: "welcome", epoch: "a", desiredRevision: 7, heartbeatSeconds });

const route: RouteStatusEntry = {
  service: "web",
  kind: "service-port",
  port: 8080,
  state: "applied",
  message: "",
  since: "2030-01-01T00:00:00.000Z",
};

describe("welcome", () => {
  test("answers the hello: the retry is cancelled, the cloud's view kept", () => {
    const f = edgeFixture();
    const retry = f.clock.after(1500, () => {});
    f.state.helloTimer = retry;
    handleWelcome(f.ctx, welcome(5));
    expect(f.state.welcomed).toBe(true);
    expect(f.state.helloTimer).toBeUndefined();
    expect(f.clock.pending()).toEqual([]);
    expect(f.state.cloud).toEqual({ epoch: "a", desiredRevision: 7 });
  });

  const routes: { name: string; routes: RouteStatusEntry[] | undefined }[] = [
    { name: "no routes reported yet: none sent", routes: undefined },
    { name: "the last routes reported: sent again", routes: [route] },
    { name: "no routes at all (reported empty): sent again", routes: [] },
  ];
  for (const c of routes) {
    test(c.name, () => {
      const f = edgeFixture();
      f.state.routes = c.routes;
      handleWelcome(f.ctx, welcome(5));
      const resent = c.routes ? [expect.objectContaining({ type: "routes", routes: c.routes })] : [];
      expect(f.takeUp()).toEqual(resent);
    });
  }

  const intervals: { now: number; told: number; restarted: boolean }[] = [
    { now: 5, told: 5, restarted: false },
    { now: 5, told: 30, restarted: true },
    { now: 30, told: 5, restarted: true },
  ];
  for (const c of intervals) {
    test(`heartbeating every ${c.now} s, told ${c.told} s: ${c.restarted ? "restarted" : "left alone"}`, () => {
      const f = edgeFixture({ heartbeatSeconds: c.now });
      const running = f.clock.every(c.now * 1000, () => {});
      f.state.heartbeatTimer = running;
      handleWelcome(f.ctx, welcome(c.told));
      expect(f.state.heartbeatSeconds).toBe(c.told);
      expect(f.clock.pending().map((t) => t.ms)).toEqual([c.told * 1000]);
      expect(f.clock.pending()[0] === f.clock.timers[0]).toBe(!c.restarted);
    });
  }
});
