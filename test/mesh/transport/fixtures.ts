// Shared pieces of the transport tests: a cluster CA with node credentials, catalog entries, an
// echo service, helpers that push bytes through a Duplex with back-pressure and collect what comes
// back, and a TCP tap that records every byte passing between two endpoints.
import type { CatalogNode, Duplex } from "../../../src/mesh/contracts.ts";
import { connectDuplex, listenDuplex } from "../../../src/mesh/proxy/socket-listen-connect.ts";
import { Splice } from "../../../src/mesh/proxy/splice.ts";
import { createCa, issueNodeCertificate, type KeyPair } from "../../../src/mesh/transport/certificates.ts";
import type { NodeTls } from "../../../src/mesh/transport/node-tls.ts";
import type { InboundStream } from "../../../src/mesh/transport/tls-stream.ts";

export interface TestCa extends KeyPair {
  node(name: string, addresses?: string[]): NodeTls;
}

export function testCa(): TestCa {
  const ca = createCa();
  return {
    ...ca,
    node: (name, addresses = ["127.0.0.1"]) => ({
      node: name,
      ca: ca.cert,
      ...issueNodeCertificate(ca, { node: name, addresses }),
    }),
  };
}

export function catalogNode(name: string, port: number, addresses = ["127.0.0.1"]): CatalogNode {
  return {
    name,
    role: name === "cloud" ? "cloud" : "edge",
    addresses,
    labels: {},
    state: "Ready",
    tunnelPort: port,
  };
}

/** Echoes every stream back (with back-pressure) and records what arrived. */
export function echoService(): { streams: InboundStream[]; onStream: (s: InboundStream) => void } {
  const streams: InboundStream[] = [];
  return {
    streams,
    onStream(stream) {
      streams.push(stream);
      const d = stream.duplex;
      d.onData((chunk) => {
        if (!d.write(chunk)) d.pause();
      });
      d.onDrain(() => d.resume());
      d.onEnd(() => d.end());
    },
  };
}

/** A deterministic payload of `size` bytes. */
export function payload(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Writes `data` in 64 KiB chunks honoring write() === false, then ends. */
export function writeAll(d: Duplex, data: Uint8Array, chunk = 64 * 1024): Promise<void> {
  return new Promise((resolve) => {
    let at = 0;
    const pump = () => {
      while (at < data.byteLength) {
        const part = data.subarray(at, at + chunk);
        at += part.byteLength;
        if (!d.write(part)) return;
      }
      d.onDrain(() => {});
      d.end();
      resolve();
    };
    d.onDrain(pump);
    pump();
  });
}

/** Everything a Duplex delivers until it ends or closes. */
export function readAll(d: Duplex): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(parts));
    };
    d.onData((c) => parts.push(Buffer.from(c)));
    d.onEnd(finish);
    d.onClose(finish);
  });
}

export interface Tap {
  port: number;
  /** Bytes from the client side to the server side, and back, per connection. */
  connections: { up: Buffer[]; down: Buffer[] }[];
  stop(): void;
}

/** Wraps a Duplex so that every chunk it delivers is also recorded. */
function recording(d: Duplex, record: Buffer[]): Duplex {
  return {
    write: (c) => d.write(c),
    end: () => d.end(),
    destroy: (e) => d.destroy(e),
    pause: () => d.pause(),
    resume: () => d.resume(),
    onData: (h) =>
      d.onData((c) => {
        record.push(Buffer.from(c));
        h(c);
      }),
    onDrain: (h) => d.onDrain(h),
    onEnd: (h) => d.onEnd(h),
    onClose: (h) => d.onClose(h),
    remoteAddress: d.remoteAddress,
  };
}

/** A plain TCP forwarder 127.0.0.1:port → target that keeps a copy of every byte. */
export function startTap(targetPort: number): Tap {
  const connections: Tap["connections"] = [];
  const server = listenDuplex({ hostname: "127.0.0.1", port: 0 }, (client) => {
    const conn = { up: [] as Buffer[], down: [] as Buffer[] };
    connections.push(conn);
    connectDuplex("127.0.0.1", targetPort).then(
      (upstream) => new Splice(recording(client, conn.up)).attach(recording(upstream, conn.down)),
      () => client.destroy(),
    );
  });
  return { port: server.port, connections, stop: () => server.stop(true) };
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function waitFor(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}
