// SocketDuplex over real loopback sockets: write queue and back-pressure, half-close, destroy, pause,
// TLS (server-verified and mutual), dial errors.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Duplex } from "../../../src/mesh/contracts.ts";
import { errorKind } from "../../../src/mesh/proxy/dial-errors.ts";
import type { SocketDuplex } from "../../../src/mesh/proxy/socket-duplex.ts";
import { connectDuplex, listenDuplex } from "../../../src/mesh/proxy/socket-listen-connect.ts";
import { makeCert, opensslAvailable } from "../../harness/certs.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const listeners: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const l of listeners) l.stop(true);
});

function serve(onConnection: (d: SocketDuplex) => void, tls?: Parameters<typeof listenDuplex>[0]["tls"]) {
  const l = listenDuplex({ hostname: "127.0.0.1", port: 0, ...(tls ? { tls } : {}) }, onConnection);
  listeners.push(l);
  return l.port;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
};

function collect(d: Duplex) {
  const state = {
    chunks: [] as Buffer[],
    bytes: 0,
    ended: false,
    closed: 0,
    error: undefined as Error | undefined,
  };
  d.onData((c) => {
    state.chunks.push(Buffer.from(c));
    state.bytes += c.byteLength;
  });
  d.onEnd(() => {
    state.ended = true;
  });
  d.onClose((e) => {
    state.closed++;
    state.error = e;
  });
  return state;
}

describe("SocketDuplex", () => {
  test("a peer that does not read: write() says stop above the high-water mark, drain says go", async () => {
    let server: SocketDuplex | undefined;
    const port = serve((d) => {
      server = d;
      d.pause();
    });
    const client = await connectDuplex("127.0.0.1", port);
    await until(() => server !== undefined);
    const received = collect(server as SocketDuplex);
    const chunk = Buffer.alloc(1 << 20, 7);
    let written = 0;
    while (client.write(chunk)) written += chunk.byteLength;
    written += chunk.byteLength;
    const queued = (client as SocketDuplex).bufferedAmount;
    expect(queued).toBeGreaterThanOrEqual(64 * 1024);
    // at most the high-water mark plus the chunk that crossed it
    expect(queued).toBeLessThan(64 * 1024 + chunk.byteLength);
    let drained = false;
    client.onDrain(() => {
      drained = true;
    });
    server?.resume();
    await until(() => drained && received.bytes === written);
    client.destroy();
  });

  test("16 MB arrive in order; end() half-closes after the queue; the other way still works", async () => {
    const payload = Buffer.alloc(16 << 20);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE(i, i);
    const expected = createHash("sha256").update(payload).digest("hex");
    let serverState: ReturnType<typeof collect> | undefined;
    const port = serve((d) => {
      serverState = collect(d);
      d.onEnd(() => {
        if (serverState) serverState.ended = true;
        const digest = createHash("sha256")
          .update(Buffer.concat(serverState?.chunks ?? []))
          .digest("hex");
        d.write(Buffer.from(digest));
        d.end();
      });
    });
    const client = await connectDuplex("127.0.0.1", port);
    const got = collect(client);
    for (let off = 0; off < payload.length; off += 100_000)
      client.write(payload.subarray(off, off + 100_000));
    client.end();
    await until(() => got.closed === 1);
    expect(Buffer.concat(got.chunks).toString()).toBe(expected);
    expect(got.ended).toBe(true);
    expect(got.error).toBeUndefined();
    await until(() => serverState?.closed === 1);
    expect(serverState?.error).toBeUndefined();
  });

  test("destroy is idempotent, reports once, and the peer sees a reset", async () => {
    let server: ReturnType<typeof collect> | undefined;
    const port = serve((d) => {
      server = collect(d);
    });
    const client = await connectDuplex("127.0.0.1", port);
    const got = collect(client);
    await until(() => server !== undefined);
    const reason = new Error("bye");
    client.destroy(reason);
    client.destroy(new Error("again"));
    expect(got.closed).toBe(1);
    expect(got.error).toBe(reason);
    expect(client.write(Buffer.from("x"))).toBe(false);
    await until(() => server?.closed === 1);
    expect(server?.error).toBeDefined();
  });

  test("pause() stops onData until resume()", async () => {
    const port = serve((d) => {
      d.write(Buffer.from("one"));
      setTimeout(() => d.write(Buffer.from("two")), 30);
    });
    const client = await connectDuplex("127.0.0.1", port);
    const got = collect(client);
    await until(() => got.bytes === 3);
    client.pause();
    await Bun.sleep(100);
    expect(got.bytes).toBe(3);
    client.resume();
    await until(() => got.bytes === 6);
    client.destroy();
  });

  test("dial errors are classified: refused, timeout, aborted", async () => {
    const closed = listenDuplex({ hostname: "127.0.0.1", port: 0 }, () => {});
    const port = closed.port;
    closed.stop(true);
    const refused = await connectDuplex("127.0.0.1", port).catch((e) => e);
    expect(refused.code).toBe("ECONNREFUSED");
    expect(errorKind(refused)).toBe("refused");
    // a TLS client against a server that never answers the handshake
    const silent = serve(() => {});
    const timedOut = await connectDuplex("127.0.0.1", silent, { tls: true, timeoutMs: 150 }).catch((e) => e);
    expect(timedOut.code).toBe("ETIMEDOUT");
    expect(errorKind(timedOut)).toBe("timeout");
    const aborted = await connectDuplex("127.0.0.1", silent, {
      tls: true,
      signal: AbortSignal.timeout(100),
    }).catch((e) => e);
    expect(errorKind(aborted)).toBe("timeout");
  });
});

describe.skipIf(!opensslAvailable())("SocketDuplex over TLS", () => {
  test("server-verified TLS echo; an unknown CA is refused before any byte", async () => {
    const dir = makeTempDir();
    const server = await makeCert(dir, "server", "IP:127.0.0.1");
    const other = await makeCert(dir, "other", "IP:127.0.0.1");
    const port = serve((d) => d.onData((c) => d.write(Buffer.from(c))), {
      key: server.key,
      cert: server.cert,
    });
    const client = await connectDuplex("127.0.0.1", port, {
      tls: { ca: server.cert, serverName: "127.0.0.1" },
    });
    const got = collect(client);
    client.write(Buffer.from("ping over tls"));
    await until(() => got.bytes === 13);
    expect(Buffer.concat(got.chunks).toString()).toBe("ping over tls");
    client.destroy();
    const refused = await connectDuplex("127.0.0.1", port, {
      tls: { ca: other.cert, serverName: "127.0.0.1" },
    }).catch((e) => e);
    expect(refused.code).toBe("ETLS");
  });

  test("mutual TLS: a client without a certificate never reaches onConnection", async () => {
    const dir = makeTempDir();
    const server = await makeCert(dir, "server", "IP:127.0.0.1");
    const client = await makeCert(dir, "client", "IP:127.0.0.1");
    let accepted = 0;
    const port = serve(
      (d) => {
        accepted++;
        d.onData((c) => d.write(Buffer.from(c)));
      },
      { key: server.key, cert: server.cert, ca: client.cert, requestCert: true, rejectUnauthorized: true },
    );
    const good = await connectDuplex("127.0.0.1", port, {
      tls: { ca: server.cert, serverName: "127.0.0.1", key: client.key, cert: client.cert },
    });
    const got = collect(good);
    good.write(Buffer.from("hi"));
    await until(() => got.bytes === 2);
    expect(accepted).toBe(1);
    good.end();
    const anonymous = await connectDuplex("127.0.0.1", port, {
      tls: { ca: server.cert, serverName: "127.0.0.1" },
    });
    const anon = collect(anonymous);
    anonymous.write(Buffer.from("hi"));
    await until(() => anon.closed === 1);
    expect(anon.bytes).toBe(0);
    expect(accepted).toBe(1);
  });
});
