// One mesh transport node as its own process, for the root-only fault suite (test/faults/relay.fault.ts),
// started inside a network namespace with one JSON argument:
//   {role: "relay", node, tls, listen}                  the cloud: tunnel port with the relay, echo service
//   {role: "edge", node, tls, listen, relay}            an edge: tunnel port (echo) and legs at the relay
//   {role: "dial", node, tls, relay, target, bytes, dials}   dials target's echo service `dials` times
// It prints "ready" (relay, edge) or one JSON result line (dial) on stdout.
import { createHash } from "node:crypto";
import type { NodeTls } from "../../../src/mesh/transport/node-tls.ts";
import { RelayHub } from "../../../src/mesh/transport/relay-hub.ts";
import { startRelayOffers } from "../../../src/mesh/transport/relay-offers.ts";
import { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer } from "../../../src/mesh/transport/tunnel-server.ts";
import { catalogNode, echoService, payload, readAll, waitFor, writeAll } from "./fixtures.ts";

interface Config {
  role: "relay" | "edge" | "dial";
  node: string;
  tls: NodeTls;
  listen?: { host: string; port: number };
  relay?: { host: string; port: number };
  target?: { node: string; address: string; port: number };
  bytes?: number;
  dials?: number;
}

const config = JSON.parse(process.argv.at(-1) ?? "{}") as Config;
const credentials = () => config.tls;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

if (config.role === "relay" || config.role === "edge") {
  const listen = config.listen ?? { host: "0.0.0.0", port: 7402 };
  const echo = echoService();
  const hub = config.role === "relay" ? new RelayHub({ name: config.node, credentials }) : undefined;
  const server = startTunnelServer({
    listen,
    credentials,
    onStream: echo.onStream,
    ...(hub ? { relay: hub } : {}),
  });
  if (config.role === "edge") {
    const relay = config.relay;
    const offers = startRelayOffers({
      idle: 2,
      node: config.node,
      credentials,
      relay: () => relay,
      accept: server.accept,
      backoff: { baseMs: 100, capMs: 1000 },
    });
    await waitFor("legs at the relay", () => offers.waiting() === 2, 20_000);
  }
  console.log("ready");
} else {
  const target = config.target as NonNullable<Config["target"]>;
  const dialer = new TunnelDialer({
    node: config.node,
    credentials,
    lookup: (n) => (n === target.node ? catalogNode(n, target.port, [target.address]) : undefined),
    relay: () => config.relay,
  });
  const data = payload(config.bytes ?? 1024 * 1024);
  const dials: { ms: number; exact: boolean }[] = [];
  let error: string | undefined;
  try {
    for (let i = 0; i < (config.dials ?? 1); i++) {
      const started = performance.now();
      const d = await dialer.dial({ kind: "node", node: target.node, service: "echo" });
      const ms = performance.now() - started;
      const back = readAll(d);
      await writeAll(d, data);
      const got = await back;
      dials.push({ ms, exact: got.length === data.length && sha(got) === sha(data) });
    }
  } catch (e) {
    error = (e as Error).message;
  }
  console.log(
    JSON.stringify({ dials, stats: dialer.stats, directDown: dialer.paths.directDown(target.node), error }),
  );
  process.exit(0);
}
