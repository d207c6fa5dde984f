// The mesh's inbound side on one node: the streams other agents send through the tunnel, directly or
// through the cloud's relay (src/mesh/transport/: tunnel-server.ts accepts them, relay-offers.ts
// keeps the legs the relay hands them on), each for one service. A stream a fallback sent
// (`forwarded`) is served by a worker here or refused, never forwarded again; any other stream is
// addressed to this node (another node's forward proxy or upstream port named it) and is decided
// as for this node's own clients (service-traffic.ts).
import type { Catalog, Duplex } from "../contracts.ts";
import type { ConnectionInfo } from "../proxy/http-proxy.ts";
import type { ServiceTraffic } from "../service-traffic.ts";
import { countedStream } from "./counted-stream.ts";

/**
 * Where a tunnel stream came from: the peer node (its certificate's name), whether a fallback
 * forwarded it, and the path it took.
 */
export interface StreamOrigin {
  peer: string;
  forwarded: boolean;
  via: "direct" | "relay";
}

export class Inbound {
  constructor(
    private readonly node: string,
    private readonly catalog: () => Catalog | undefined,
    private readonly traffic: ServiceTraffic,
  ) {}

  /** Serves one stream for `service` until it closes. */
  serve(service: string, stream: Duplex, from: StreamOrigin): void {
    const { peer, forwarded, via } = from;
    const entry = this.catalog()?.services.find((s) => s.name === service);
    if (!entry) {
      stream.destroy(new Error(`unknown service ${service} on node ${this.node}`));
      return;
    }
    const hops = forwarded ? 1 : 0;
    const info: ConnectionInfo = { remoteAddress: `${peer} (tunnel)`, peer: { node: peer, via } };
    const link = this.traffic.peerLink(peer, via);
    const counted = link ? countedStream(stream, link) : stream;
    if (entry.protocol === "tcp") this.traffic.tcp(service, hops).serve(counted, info);
    else this.traffic.http(service, hops).serve(counted, info);
  }
}
