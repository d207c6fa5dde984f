// The relay tests' cluster (test/mesh/transport/relay*.test.ts): a cloud running the relay, edge B with
// its tunnel server (an echo service) and relay legs, edge "edges" with a sink service, and A's dialer
// whose direct path to them is a closed port. Everything a test starts is stopped by stopAll().
import type { Duplex } from "../../../src/mesh/contracts.ts";
import type { NodeTls } from "../../../src/mesh/transport/node-tls.ts";
import { RelayHub } from "../../../src/mesh/transport/relay-hub.ts";
import { type RelayOffers, startRelayOffers } from "../../../src/mesh/transport/relay-offers.ts";
import { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import {
  startTunnelServer,
  type TunnelServer,
  type TunnelServerOptions,
} from "../../../src/mesh/transport/tunnel-server.ts";
import { catalogNode, closedPort, echoService, testCa, waitFor } from "./fixtures.ts";

export const ca = testCa();
export const A = ca.node("edgea");
export const B = ca.node("edgeb");
export const C = ca.node("edgec");
export const CLOUD = ca.node("cloud");
export const FAST = { baseMs: 20, capMs: 100 };

/** What the current test started; each test file runs `afterEach(stopAll)`. */
const cleanup: (() => void)[] = [];
export const onCleanup = (stop: () => void): void => void cleanup.push(stop);
export function stopAll(): void {
  for (const stop of cleanup.splice(0).reverse()) stop();
}

export interface Cluster {
  hub: RelayHub;
  relay: TunnelServer;
  b: TunnelServer;
  echo: ReturnType<typeof echoService>;
  offers: RelayOffers;
  events: string[];
}

/** A cloud running the relay, edge B with its tunnel server and its relay legs (through `via`). */
export async function cluster(
  options: { hub?: RelayHub; via?: (relayPort: number) => number } = {},
): Promise<Cluster> {
  const events: string[] = [];
  const hub =
    options.hub ??
    new RelayHub({
      name: "cloud",
      credentials: () => CLOUD,
      onEvent: (e, f) => events.push(`${e} ${JSON.stringify(f)}`),
    });
  const relay = relayServer(hub);
  const echo = echoService();
  const relayPort = options.via ? options.via(relay.port) : relay.port;
  const { server: b, offers } = offeringEdge("edgeb", B, relayPort, echo.onStream);
  await waitFor("B's legs at the relay", () => hub.legs("edgeb") === 2 && offers.waiting() === 2);
  return { hub, relay, b, echo, offers, events };
}

/** The cloud's tunnel server running `hub` as relay (its own streams go to an echo service). */
export function relayServer(hub: RelayHub): TunnelServer {
  const relay = startTunnelServer({
    listen: { host: "127.0.0.1", port: 0 },
    credentials: () => CLOUD,
    onStream: echoService().onStream,
    relay: hub,
  });
  onCleanup(() => relay.stop());
  return relay;
}

/** An edge with its tunnel server (streams to `onStream`) keeping 2 legs at the relay on relayPort. */
export function offeringEdge(
  node: string,
  credentials: NodeTls,
  relayPort: number,
  onStream: TunnelServerOptions["onStream"],
): { server: TunnelServer; offers: RelayOffers } {
  const server = startTunnelServer({
    listen: { host: "127.0.0.1", port: 0 },
    credentials: () => credentials,
    onStream,
  });
  onCleanup(() => server.stop());
  const offers = startRelayOffers({
    idle: 2,
    node,
    credentials: () => credentials,
    relay: () => ({ host: "127.0.0.1", port: relayPort }),
    accept: server.accept,
    backoff: FAST,
  });
  onCleanup(() => offers.close());
  return { server, offers };
}

/** A's dialer, for which B's direct address is a closed port. */
export function blockedDialer(relayPort: number) {
  const blocked = closedPort();
  return new TunnelDialer({
    node: "edgea",
    credentials: () => A,
    lookup: (n) => catalogNode(n, blocked),
    relay: () => ({ host: "127.0.0.1", port: relayPort }),
  });
}

/** Adds edge "edges" (a sink service: streams handed to onSink) with legs at the relay; its name. */
export async function clusterWithSink(relayPort: number, onSink: (d: Duplex) => void): Promise<string> {
  const { offers } = offeringEdge("edges", ca.node("edges"), relayPort, (s) => onSink(s.duplex));
  await waitFor("the sink's legs", () => offers.waiting() === 2);
  return "edges";
}
