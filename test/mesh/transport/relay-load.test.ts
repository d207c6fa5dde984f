// The relay under load, in-process over real loopback sockets: a burst of concurrent relayed dials
// beyond the idle legs all get through (they wait at the relay for the legs B offers next), a failed
// leg does not hold up replacing the used ones while the relay works, and a dial that gives up while
// waiting spends no leg.
import { afterEach, describe, expect, test } from "bun:test";
import { RelayHub } from "../../../src/mesh/transport/relay-hub.ts";
import { startRelayOffers } from "../../../src/mesh/transport/relay-offers.ts";
import { helloLine, parseChallenge, requestLine } from "../../../src/mesh/transport/relay-protocol.ts";
import type { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer } from "../../../src/mesh/transport/tunnel-server.ts";
import { closedPort, echoService, readAll, waitFor, writeAll } from "./fixtures.ts";
import {
  A,
  B,
  blockedDialer,
  C,
  CLOUD,
  cluster,
  offeringEdge,
  onCleanup,
  relayServer,
  stopAll,
} from "./relay-fixtures.ts";

afterEach(stopAll);

describe("relay under load", () => {
  /** Opens a relayed stream, sends `text`, and resolves with what came back. */
  const roundTrip = async (dialer: TunnelDialer, text: string) => {
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    const back = readAll(d);
    await writeAll(d, Buffer.from(text));
    return (await back).toString();
  };

  test("a burst of 48 concurrent relayed dials all succeed with 2 idle legs; the legs come back", async () => {
    const { hub, relay, offers, echo } = await cluster();
    const dialer = blockedDialer(relay.port);
    dialer.paths.directFailed("edgeb");
    const texts = Array.from({ length: 48 }, (_, i) => `stream ${i} `.repeat(100));
    const results = await Promise.allSettled(texts.map((t) => roundTrip(dialer, t)));
    const failed = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    expect(failed).toEqual([]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : ""))).toEqual(texts);
    expect(echo.streams).toHaveLength(48);
    expect(hub.stats).toMatchObject({ relayed: 48, waitTimeouts: 0 });
    expect(hub.stats.waits).toBeGreaterThan(0); // the burst did outrun the idle legs
    await waitFor("B's legs replenished", () => hub.legs("edgeb") === 2 && offers.waiting() === 2);
  });

  test("a failed leg does not hold up replacing used ones while the relay works (long backoff)", async () => {
    const hub = new RelayHub({ name: "cloud", credentials: () => CLOUD });
    const relay = relayServer(hub);
    const echo = echoService();
    const b = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => B,
      onStream: echo.onStream,
    });
    onCleanup(() => b.stop());
    // B's first leg goes to a dead address (it fails); the others reach the relay
    const dead = closedPort();
    let calls = 0;
    const events: string[] = [];
    const offers = startRelayOffers({
      idle: 2,
      node: "edgeb",
      credentials: () => B,
      relay: () => ({ host: "127.0.0.1", port: calls++ === 0 ? dead : relay.port }),
      accept: b.accept,
      backoff: { baseMs: 60_000, capMs: 60_000, random: () => 0.99 },
      onEvent: (e) => events.push(e),
    });
    onCleanup(() => offers.close());
    await waitFor("one failed leg, one waiting", () => events.length > 0 && hub.legs("edgeb") === 1);
    expect(events).toContain("relay leg failed; retrying");
    // a ~59 s retry is pending, yet every stream gets through and the legs come back at once
    const dialer = blockedDialer(relay.port);
    dialer.paths.directFailed("edgeb");
    for (let round = 0; round < 3; round++) {
      const texts = Array.from({ length: 6 }, (_, i) => `round ${round} stream ${i}`);
      expect(await Promise.all(texts.map((t) => roundTrip(dialer, t)))).toEqual(texts);
    }
    await waitFor("B's legs replenished", () => hub.legs("edgeb") === 2 && offers.waiting() === 2, 2000);
    expect(hub.stats.waitTimeouts).toBe(0);
  });

  test("a dial that gives up while waiting for a leg spends none", async () => {
    const { hub, relay } = await cluster();
    // in-process (the cloud's dialer): an aborted wait
    const gone = new AbortController();
    const wait = hub.whenLeg("edgec", 3000, gone.signal);
    gone.abort();
    expect(await wait).toBeUndefined();
    // over the wire: a dial for edge C (no legs yet) whose connection closes while it waits
    const dialing = await relayDialAndClose(relay.port, "edgec");
    await waitFor("the dial waiting", () => hub.stats.waits === 2);
    dialing.end();
    await Bun.sleep(50);
    // C's legs arrive afterwards: nobody takes them
    offeringEdge("edgec", C, relay.port, () => {});
    await waitFor("C's legs", () => hub.legs("edgec") === 2);
    await Bun.sleep(100);
    expect(hub.legs("edgec")).toBe(2);
    expect(hub.stats.relayed).toBe(0);
  });
});

/** Sends A's signed dial for `target` and returns the socket once the relay has read it (no answer yet). */
function relayDialAndClose(port: number, target: string): Promise<import("bun").Socket> {
  return new Promise((resolve) => {
    let text = "";
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(helloLine()),
        data(s, d) {
          text += d.toString();
          const challenge = parseChallenge(text.split("\n")[0] ?? "");
          if (challenge && text.endsWith("\n") && !text.includes("\nok")) {
            s.write(requestLine({ verb: "dial", node: "edgea", target }, A, challenge));
            resolve(s);
          }
        },
      },
    });
  });
}
