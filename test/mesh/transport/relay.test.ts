// The relay, in-process over real loopback sockets: edge B keeps authenticated legs at the cloud's
// relay; A, whose direct path to B is blocked (B's catalog address is a closed port), is spliced to
// one of them, and the end-to-end TLS session runs through: bytes arrive exact both ways with
// back-pressure and half-close, the relay only ever sees TLS records, it refuses unauthenticated legs,
// and a relay that splices to the wrong node is caught by the dialer's certificate check.
import { afterEach, describe, expect, test } from "bun:test";
import type { Duplex } from "../../../src/mesh/contracts.ts";
import { RelayHub } from "../../../src/mesh/transport/relay-hub.ts";
import { startRelayOffers } from "../../../src/mesh/transport/relay-offers.ts";
import {
  helloLine,
  parseAnswer,
  parseChallenge,
  requestLine,
} from "../../../src/mesh/transport/relay-protocol.ts";
import type { PhasedSocket } from "../../../src/mesh/transport/socket-phases.ts";
import { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer } from "../../../src/mesh/transport/tunnel-server.ts";
import {
  catalogNode,
  closedPort,
  echoService,
  payload,
  readAll,
  startTap,
  type Tap,
  testCa,
  waitFor,
  writeAll,
} from "./fixtures.ts";
import {
  A,
  B,
  blockedDialer,
  C,
  CLOUD,
  cluster,
  clusterWithSink,
  FAST,
  offeringEdge,
  onCleanup,
  stopAll,
} from "./relay-fixtures.ts";

afterEach(stopAll);

describe("relay", () => {
  test("direct path blocked: 8 MB both ways byte-exact through the relay; B replenishes its legs", async () => {
    const { hub, relay, echo, offers } = await cluster();
    const dialer = blockedDialer(relay.port);
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "echo", forwarded: true });
    expect(dialer.stats).toMatchObject({ direct: 0, relayed: 1 });
    expect(dialer.paths.directDown("edgeb")).toBe(true);
    const data = payload(8 * 1024 * 1024, 11);
    const back = readAll(d);
    await writeAll(d, data);
    const got = await back;
    expect(got.length).toBe(data.length);
    expect(got.equals(Buffer.from(data))).toBe(true);
    expect(echo.streams).toHaveLength(1);
    expect(echo.streams[0]).toMatchObject({ service: "echo", forwarded: true, peer: "edgea", via: "relay" });
    expect(hub.stats.relayed).toBe(1);
    await waitFor("B's legs replenished", () => hub.legs("edgeb") === 2 && offers.waiting() === 2);
    // the next dial goes straight to the relay (the direct path is remembered as down)
    const started = performance.now();
    const again = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    expect(dialer.stats.relayed).toBe(2);
    expect(performance.now() - started).toBeLessThan(1000);
    again.destroy();
  });

  test("half-close through the relay: B answers after A's end and every byte arrives", async () => {
    const { relay } = await cluster();
    // edge "edges" answers only once A has ended its side: 1 MB, in pieces, then its own end
    const answer = payload(1024 * 1024, 5);
    await clusterWithSink(relay.port, (d) => {
      d.onData(() => {});
      d.onEnd(() => {
        setTimeout(() => void writeAll(d, answer, 16 * 1024), 50);
      });
    });
    const dialer = blockedDialer(relay.port);
    dialer.paths.directFailed("edges");
    const d = await dialer.dial({ kind: "node", node: "edges", service: "sink" });
    const back = readAll(d);
    await writeAll(d, Buffer.from("question"));
    const got = await back;
    expect(got.length).toBe(answer.length);
    expect(got.equals(Buffer.from(answer))).toBe(true);
  });

  test("back-pressure: a receiver that stops reading stops the sender; nothing is lost", async () => {
    const { relay } = await cluster();
    // B's service here reads nothing until told to
    let receiver: Duplex | undefined;
    const bEcho = await clusterWithSink(relay.port, (d) => {
      receiver = d;
    });
    const dialer = blockedDialer(relay.port);
    dialer.paths.directFailed("edgeb");
    const d = await dialer.dial({ kind: "node", node: bEcho, service: "sink" });
    await waitFor("the stream at B", () => receiver !== undefined);
    const sink = receiver as Duplex;
    sink.pause();
    const data = payload(64 * 1024 * 1024, 3);
    let offered = 0;
    while (offered < data.length) {
      const ok = d.write(data.subarray(offered, offered + 64 * 1024));
      offered += 64 * 1024;
      if (!ok) break;
      if (offered % (1024 * 1024) === 0) await Bun.sleep(1); // let the sockets move
    }
    // The sender was told to wait long before everything was accepted: the relay does not buffer.
    expect(offered).toBeLessThan(48 * 1024 * 1024);
    const received = readAll(sink);
    sink.resume();
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (offered < data.length) {
          const ok = d.write(data.subarray(offered, offered + 64 * 1024));
          offered += 64 * 1024;
          if (!ok) return;
        }
        d.end();
        resolve();
      };
      d.onDrain(pump);
      pump();
    });
    const got = await received;
    expect(got.length).toBe(data.length);
    expect(got.equals(Buffer.from(data))).toBe(true);
  });

  test("the relay sees only TLS records: no payload, no service name", async () => {
    let tap: Tap | undefined;
    const { relay } = await cluster({
      via: (port) => {
        tap = startTap(port);
        return tap.port;
      },
    });
    onCleanup(() => tap?.stop());
    const dialer = blockedDialer(relay.port);
    const secret = Buffer.from("LEVEE-SECRET-PAYLOAD-0123456789-".repeat(32 * 1024)); // 1 MiB of a known text
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "secret-service" });
    const back = readAll(d);
    await writeAll(d, secret);
    expect((await back).equals(secret)).toBe(true);
    // the leg that carried the stream: what B sent to and received from the relay
    const legs = (tap as Tap).connections.map((c) => ({
      up: Buffer.concat(c.up),
      down: Buffer.concat(c.down),
    }));
    const used = legs.find((l) => l.down.includes("go\n"));
    expect(used).toBeDefined();
    const { up, down } = used as { up: Buffer; down: Buffer };
    for (const bytes of [up, down]) {
      expect(bytes.length).toBeGreaterThan(secret.length);
      expect(bytes.includes("LEVEE-SECRET")).toBe(false);
      expect(bytes.includes("secret-service")).toBe(false);
      expect(bytes.includes("LEVEE-TUNNEL")).toBe(false);
    }
    // relay → B after "go": nothing but well-formed TLS records from start to end
    const afterGo = down.subarray(down.indexOf("go\n") + 3);
    expect(tlsRecords(afterGo)).toBeGreaterThan(10);
    // B → relay after its offer was accepted: TLS records too
    const offerEnd = up.indexOf("\n", up.indexOf("offer ")) + 1;
    expect(tlsRecords(up.subarray(offerEnd))).toBeGreaterThan(10);
  });

  test("the cloud's own dialer uses the relay in-process", async () => {
    const { hub } = await cluster();
    const dialer = new TunnelDialer({
      node: "cloud",
      credentials: () => CLOUD,
      lookup: (n) => (n === "edgeb" ? catalogNode("edgeb", closedPort()) : undefined),
      relay: () => undefined,
      localRelay: hub,
    });
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    const back = readAll(d);
    await writeAll(d, Buffer.from("from the cloud"));
    expect((await back).toString()).toBe("from the cloud");
    expect(dialer.stats.relayed).toBe(1);
  });

  test("no leg for the target: a clear error naming both paths", async () => {
    const { relay } = await cluster();
    const blocked = closedPort();
    const dialer = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: (n) => catalogNode(n, blocked),
      relay: () => ({ host: "127.0.0.1", port: relay.port }),
    });
    const error = (await dialer
      .dial({ kind: "node", node: "edgec", service: "echo" })
      .catch((e) => e)) as Error;
    expect(error.message).toMatch(
      /cannot reach node edgec: direct: .*; relay: .*edgec has no connection to the relay/,
    );
  });

  test("a relay that splices to the wrong node is caught by the end-to-end certificate check", async () => {
    class WrongHub extends RelayHub {
      override takeLeg(): PhasedSocket | undefined {
        return super.takeLeg("edgec");
      }
    }
    const hub = new WrongHub({ name: "cloud", credentials: () => CLOUD });
    const { relay } = await cluster({ hub });
    // edge C offers legs too
    const cEcho = echoService();
    offeringEdge("edgec", C, relay.port, cEcho.onStream);
    await waitFor("C's legs", () => hub.legs("edgec") === 2);
    const dialer = blockedDialer(relay.port);
    const error = (await dialer
      .dial({ kind: "node", node: "edgeb", service: "echo" })
      .catch((e) => e)) as Error;
    expect(error.message).toMatch(/relay: .*(not node edgeb|TLS handshake)/);
    await Bun.sleep(50);
    expect(cEcho.streams).toHaveLength(0);
  });

  test("unauthenticated legs are refused: another CA, a stolen certificate without its key, plain junk", async () => {
    const { hub, relay, events } = await cluster();
    const stranger = testCa().node("edgeb");
    const thief = { cert: B.cert, key: C.key }; // B's certificate, someone else's key
    for (const credentials of [stranger, thief]) {
      const answer = await relayHandshake(relay.port, (challenge) =>
        requestLine({ verb: "offer", node: "edgeb" }, credentials, challenge),
      );
      expect(answer).toMatchObject({ ok: false });
    }
    const dialAnswer = await relayHandshake(relay.port, (challenge) =>
      requestLine({ verb: "dial", node: "edgeb", target: "edgeb" }, stranger, challenge),
    );
    expect(dialAnswer).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not issued by the cluster CA/),
    });
    expect(hub.legs("edgeb")).toBe(2); // only B's real legs
    expect(hub.stats.refused).toBeGreaterThanOrEqual(3);
    expect(events.some((e) => e.includes("signature does not verify"))).toBe(true);
    const junk = await Bun.connect({ hostname: "127.0.0.1", port: relay.port, socket: { data() {} } });
    junk.write("LEVEE-RELAY/9\n");
    await waitFor("junk refused", () => events.some((e) => e.includes("not a relay hello")));
  });

  test("legs come back with backoff after the relay went away", async () => {
    const hub1 = new RelayHub({ name: "cloud", credentials: () => CLOUD });
    const relay1 = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => CLOUD,
      onStream: () => {},
      relay: hub1,
    });
    let relayPort = relay1.port;
    const b = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => B,
      onStream: () => {},
    });
    onCleanup(() => b.stop());
    const events: string[] = [];
    const offers = startRelayOffers({
      idle: 2,
      node: "edgeb",
      credentials: () => B,
      relay: () => ({ host: "127.0.0.1", port: relayPort }),
      accept: b.accept,
      backoff: FAST,
      onEvent: (e) => events.push(e),
    });
    onCleanup(() => offers.close());
    await waitFor("legs at the first relay", () => hub1.legs("edgeb") === 2);
    relay1.stop(); // the cloud goes away: its legs close
    await waitFor(
      "the legs noticed",
      () => offers.waiting() === 0 && events.includes("relay leg failed; retrying"),
    );
    const hub2 = new RelayHub({ name: "cloud", credentials: () => CLOUD });
    const relay2 = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => CLOUD,
      onStream: () => {},
      relay: hub2,
    });
    onCleanup(() => relay2.stop());
    relayPort = relay2.port;
    await waitFor("legs at the new relay", () => hub2.legs("edgeb") === 2 && offers.waiting() === 2);
    expect(events).toContain("relay legs registered again");
  });
});

/** Speaks the relay handshake by hand; the relay's verdict. */
function relayHandshake(
  port: number,
  line: (challenge: { nonce: string; relay: string }) => string,
): Promise<ReturnType<typeof parseAnswer>> {
  return new Promise((resolve, reject) => {
    let text = "";
    let sent = false;
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(helloLine()),
        data(s, d) {
          text += d.toString();
          const lines = text.split("\n");
          const challenge = lines[0] !== undefined && lines.length > 1 ? parseChallenge(lines[0]) : undefined;
          if (challenge && !sent) {
            sent = true;
            s.write(line(challenge));
          }
          if (lines.length > 2) resolve(parseAnswer(lines[1] ?? ""));
        },
        close: () => reject(new Error(`closed after ${JSON.stringify(text)}`)),
      },
    });
  });
}

/** Counts TLS records if `bytes` is a sequence of whole records (content type 20..23, version 3.x); else -1. */
function tlsRecords(bytes: Buffer): number {
  let at = 0;
  let count = 0;
  while (at + 5 <= bytes.length) {
    const type = bytes[at] ?? 0;
    if (type < 20 || type > 23 || bytes[at + 1] !== 3) return -1;
    at += 5 + bytes.readUInt16BE(at + 3);
    count++;
  }
  return at === bytes.length ? count : -1;
}
