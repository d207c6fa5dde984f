// The TCP proxy over real sockets: a splice with back-pressure and half-close, refusals, dial failures.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import type { Duplex } from "../../../src/mesh/contracts.ts";
import type { ProxyOutcome } from "../../../src/mesh/proxy/dial-errors.ts";
import { localDialer } from "../../../src/mesh/proxy/local-dialer.ts";
import { connectDuplex, listenDuplex } from "../../../src/mesh/proxy/socket-listen-connect.ts";
import { createTcpProxy, type TcpRouteFn } from "../../../src/mesh/proxy/tcp-proxy.ts";
import { local, until } from "./fixtures.ts";

const stops: (() => void)[] = [];
afterAll(() => {
  for (const s of stops) s();
});

function tcpProxy(route: TcpRouteFn) {
  const proxy = createTcpProxy({ dialer: localDialer(), route });
  const listener = listenDuplex({ hostname: "127.0.0.1", port: 0 }, (d) =>
    proxy.serve(d, { remoteAddress: d.remoteAddress }),
  );
  stops.push(
    () => listener.stop(true),
    () => proxy.close(),
  );
  return { port: listener.port, proxy };
}

/** An upstream that hashes what it receives and, at the client's end, answers the hash and closes. */
function hashingUpstream() {
  const state = { connections: 0 };
  const listener = listenDuplex({ hostname: "127.0.0.1", port: 0 }, (d) => {
    state.connections++;
    const hash = createHash("sha256");
    let n = 0;
    d.onData((c) => {
      hash.update(c);
      // echo back too, for the other direction's back-pressure
      if (++n % 2 === 0) d.write(Buffer.from(c));
    });
    d.onEnd(() => {
      d.write(Buffer.from(`|${hash.digest("hex")}`));
      d.end();
    });
  });
  stops.push(() => listener.stop(true));
  return { port: listener.port, state };
}

function collect(d: Duplex) {
  const s = { chunks: [] as Buffer[], closed: false, error: undefined as Error | undefined };
  d.onData((c) => s.chunks.push(Buffer.from(c)));
  d.onClose((e) => {
    s.closed = true;
    s.error = e;
  });
  return s;
}

describe("TCP proxy", () => {
  test("4 MB through the splice; the client's half-close reaches the upstream, whose answer comes back", async () => {
    const up = hashingUpstream();
    const outcomes: ProxyOutcome[] = [];
    const px = tcpProxy(() => ({ kind: "dial", target: local(up.port), done: (o) => outcomes.push(o) }));
    const client = await connectDuplex("127.0.0.1", px.port);
    const got = collect(client);
    const payload = randomBytes(4 << 20);
    for (let off = 0; off < payload.length; off += 64 * 1024)
      client.write(payload.subarray(off, off + 64 * 1024));
    client.end();
    await until(() => got.closed, 10_000);
    const text = Buffer.concat(got.chunks).toString("latin1");
    expect(text.endsWith(`|${createHash("sha256").update(payload).digest("hex")}`)).toBe(true);
    expect(got.error).toBeUndefined();
    await until(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ ok: true });
    expect(px.proxy.activeConnections).toBe(0);
  });

  test("bytes sent while the route decides and the dial runs arrive first, in order", async () => {
    const up = hashingUpstream();
    const px = tcpProxy(async () => {
      await Bun.sleep(50);
      return { kind: "dial", target: local(up.port) };
    });
    const client = await connectDuplex("127.0.0.1", px.port);
    const got = collect(client);
    client.write(Buffer.from("early "));
    client.write(Buffer.from("bytes"));
    client.end();
    await until(() => got.closed);
    const hash = createHash("sha256").update("early bytes").digest("hex");
    expect(Buffer.concat(got.chunks).toString().endsWith(`|${hash}`)).toBe(true);
  });

  test("a refusal closes the connection at once, without a byte", async () => {
    const px = tcpProxy(() => ({ kind: "refuse", reason: "no ready worker of redis on edge2" }));
    const client = await connectDuplex("127.0.0.1", px.port);
    const got = collect(client);
    client.write(Buffer.from("PING\r\n"));
    await until(() => got.closed);
    expect(got.chunks.length).toBe(0);
  });

  test("an upstream that refuses: the client is closed, the outcome says refused", async () => {
    const gone = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = gone.port;
    gone.stop(true);
    const outcomes: ProxyOutcome[] = [];
    const px = tcpProxy(() => ({ kind: "dial", target: local(port), done: (o) => outcomes.push(o) }));
    const client = await connectDuplex("127.0.0.1", px.port);
    const got = collect(client);
    await until(() => got.closed);
    expect(outcomes).toEqual([expect.objectContaining({ ok: false, error: "refused" })]);
  });

  test("an upstream that resets: the client connection is cut too", async () => {
    const listener = listenDuplex({ hostname: "127.0.0.1", port: 0 }, (d) =>
      d.onData(() => d.destroy(new Error("reset"))),
    );
    stops.push(() => listener.stop(true));
    const outcomes: ProxyOutcome[] = [];
    const px = tcpProxy(() => ({
      kind: "dial",
      target: local(listener.port),
      done: (o) => outcomes.push(o),
    }));
    const client = await connectDuplex("127.0.0.1", px.port);
    const got = collect(client);
    client.write(Buffer.from("x"));
    await until(() => got.closed);
    expect(got.error).toBeDefined();
    await until(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ ok: false, error: "reset" });
  });
});
