// Tunnel traffic is counted per peer and path: each request (HTTP) or connection (TCP), the errors
// among them (a 5xx answer, the mesh's own refusal included; a refused connection), and the bytes of
// the stream both ways. In memory: a fake stream, a catalog whose service has no ready worker.
import { expect, test } from "bun:test";
import { CATALOG_VERSION, type Catalog, type Duplex } from "../../../src/mesh/contracts.ts";
import { Inbound } from "../../../src/mesh/inbound/inbound.ts";
import { ServiceTraffic } from "../../../src/mesh/service-traffic.ts";
import { PeerTraffic } from "../../../src/node/traffic-reporter.ts";
import { createLogger } from "../../../src/runtime/log.ts";

/** A stream in memory: `push` delivers bytes to the reader, `written` is what was written to it. */
function fakeStream() {
  let data: (chunk: Uint8Array) => void = () => {};
  let close: (error?: Error) => void = () => {};
  const written: Uint8Array[] = [];
  const stream: Duplex = {
    write: (chunk) => written.push(chunk) > 0,
    end: () => close(),
    destroy: (reason) => close(reason),
    pause: () => {},
    resume: () => {},
    onData: (h) => {
      data = h;
    },
    onDrain: () => {},
    onEnd: () => {},
    onClose: (h) => {
      close = h;
    },
    remoteAddress: "edge2 (tunnel)",
  };
  return { stream, written, push: (text: string) => data(new TextEncoder().encode(text)) };
}

function setup(protocol: "http" | "tcp") {
  const catalog: Catalog = {
    v: CATALOG_VERSION,
    revision: 1,
    epoch: "e",
    nodes: [],
    services: [
      {
        name: "web",
        port: 9000,
        protocol,
        balance: "round-robin",
        fallback: "none",
        upstreams: [],
        workers: [],
      },
    ],
  };
  const peers = new PeerTraffic();
  const traffic = new ServiceTraffic({
    node: "edge1",
    log: createLogger({ level: "error", format: "json", write: () => {} }),
    catalog: () => catalog,
    dialer: { dial: () => Promise.reject(new Error("no dial in this test")) },
    distance: () => undefined,
    peerCounts: (peer, via) => peers.link(peer, via),
  });
  return { peers, traffic, inbound: new Inbound("edge1", () => catalog, traffic) };
}

test("an HTTP request through the tunnel: counted, its 503 an error, its bytes both ways", async () => {
  const { peers, traffic, inbound } = setup("http");
  const { stream, written, push } = fakeStream();
  inbound.serve("web", stream, { peer: "edge2", forwarded: false, via: "relay" });
  const request = "GET / HTTP/1.1\r\nhost: web\r\n\r\n";
  push(request);
  for (let i = 0; i < 100 && written.length === 0; i++) await Bun.sleep(5);
  const sent = written.reduce((n, c) => n + c.byteLength, 0);
  expect(new TextDecoder().decode(written[0])).toStartWith("HTTP/1.1 503");
  expect(peers.link("edge2", "relay")).toMatchObject({
    requests: 1,
    errors: 1,
    bytesIn: request.length,
    bytesOut: sent,
  });
  expect(peers.counts.size).toBe(1);
  traffic.close();
});

test("a TCP connection refused (no worker): counted as a request and an error", async () => {
  const { peers, traffic, inbound } = setup("tcp");
  const { stream } = fakeStream();
  inbound.serve("web", stream, { peer: "edge2", forwarded: false, via: "direct" });
  for (let i = 0; i < 100 && peers.link("edge2", "direct").requests === 0; i++) await Bun.sleep(5);
  expect(peers.link("edge2", "direct")).toMatchObject({ requests: 1, errors: 1 });
  traffic.close();
});
