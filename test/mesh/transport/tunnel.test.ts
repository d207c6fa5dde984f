// The tunnel listener and the direct dial, over real sockets on loopback: mutual TLS with node
// certificates (a client without a certificate, or with another CA's, never gets a stream), the
// peer's name from its certificate, the dialer's check that the server is the node it wanted.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { TunnelDialer } from "../../../src/mesh/transport/tunnel-dialer.ts";
import { startTunnelServer, type TunnelServer } from "../../../src/mesh/transport/tunnel-server.ts";
import {
  catalogNode,
  closedPort,
  echoService,
  payload,
  readAll,
  testCa,
  waitFor,
  writeAll,
} from "./fixtures.ts";

const ca = testCa();
const A = ca.node("edgea");
const B = ca.node("edgeb");
const C = ca.node("edgec");

const servers: TunnelServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
});

function serve(credentials: typeof B, authorize?: (peer: string) => boolean) {
  return serveOn(credentials, 0, authorize);
}

function serveOn(credentials: typeof B, port: number, authorize?: (peer: string) => boolean) {
  const echo = echoService();
  const refused: string[] = [];
  const server = startTunnelServer({
    listen: { host: "127.0.0.1", port },
    credentials: () => credentials,
    onStream: echo.onStream,
    onRefused: (reason) => refused.push(reason),
    ...(authorize ? { authorize } : {}),
  });
  servers.push(server);
  return { server, echo, refused };
}

/** A raw TLS client: whether the server let it send a preamble and answer a ping. */
function rawClient(port: number, tls: object): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    let answer = "";
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      tls: { ...tls, serverName: "edgeb.node.levee" },
      socket: {
        handshake(s: Socket) {
          s.write("LEVEE-TUNNEL/1 ping\n");
        },
        data(_s, d) {
          answer += d.toString();
        },
        close() {
          resolve({ answer, closed: true });
        },
        error() {},
      },
    }).catch(() => resolve({ answer, closed: true }));
  });
}

describe("tunnel server: mutual TLS", () => {
  test("a client without a certificate is refused", async () => {
    const { server, echo, refused } = serve(B);
    const result = await rawClient(server.port, { ca: ca.cert });
    expect(result.answer).toBe("");
    await waitFor("the refusal", () => refused.length > 0);
    expect(refused[0]).toMatch(/client certificate refused/);
    expect(echo.streams).toHaveLength(0);
  });

  test("a client with another CA's certificate for the same name is refused", async () => {
    const { server, echo, refused } = serve(B);
    const impostor = testCa().node("edgea");
    const result = await rawClient(server.port, { ca: ca.cert, cert: impostor.cert, key: impostor.key });
    expect(result.answer).toBe("");
    await waitFor("the refusal", () => refused.length > 0);
    expect(refused[0]).toMatch(/client certificate refused/);
    expect(echo.streams).toHaveLength(0);
  });

  test("a good client is answered, and its stream carries the peer name from its certificate", async () => {
    const { server, echo } = serve(B);
    expect(await rawClient(server.port, { ca: ca.cert, cert: A.cert, key: A.key })).toEqual({
      answer: "pong\n",
      closed: true,
    });
    const dialer = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: (n) => (n === "edgeb" ? catalogNode("edgeb", server.port) : undefined),
      relay: () => undefined,
    });
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    await waitFor("the stream", () => echo.streams.length === 1);
    expect(echo.streams[0]).toMatchObject({
      service: "echo",
      forwarded: false,
      peer: "edgea",
      via: "direct",
    });
    const back = readAll(d);
    await writeAll(d, Buffer.from("hello"));
    expect((await back).toString()).toBe("hello");
  });

  test("a node the server does not authorize is refused after the handshake", async () => {
    const { server, echo, refused } = serve(B, (peer) => peer !== "edgea");
    const result = await rawClient(server.port, { ca: ca.cert, cert: A.cert, key: A.key });
    expect(result.answer).toBe("");
    expect(refused).toContain("node edgea is not authorized (deleted, or its certificate revoked)");
    expect(echo.streams).toHaveLength(0);
  });

  test("not TLS, a bad preamble or another version: closed", async () => {
    const { server, echo, refused } = serve(B);
    const plain = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
    plain.write("GET / HTTP/1.1\r\n\r\n");
    await waitFor("refusal of plain text", () => refused.includes("not a TLS connection"));
    for (const line of [
      "LEVEE-TUNNEL/2 service=echo\n",
      "hello\n",
      `LEVEE-TUNNEL/1 service=${"x".repeat(600)}\n`,
    ]) {
      await new Promise<void>((resolve) => {
        void Bun.connect({
          hostname: "127.0.0.1",
          port: server.port,
          tls: { ca: ca.cert, cert: A.cert, key: A.key, serverName: "edgeb.node.levee" },
          socket: { handshake: (s) => void s.write(line), data() {}, close: () => resolve(), error() {} },
        });
      });
    }
    expect(refused).toEqual(
      expect.arrayContaining([
        "unsupported tunnel version 2",
        "not a levee tunnel stream",
        "tunnel preamble too long",
      ]),
    );
    expect(echo.streams).toHaveLength(0);
  });

  test("without credentials yet, every connection is refused", async () => {
    const refused: string[] = [];
    const server = startTunnelServer({
      listen: { host: "127.0.0.1", port: 0 },
      credentials: () => undefined,
      onStream: () => {},
      onRefused: (r) => refused.push(r),
    });
    servers.push(server);
    await rawClient(server.port, { ca: ca.cert, cert: A.cert, key: A.key });
    expect(refused).toContain("this node has no mesh certificate yet");
  });
});

describe("direct dial", () => {
  test("the server must be the target node: C's address listed for B is refused", async () => {
    const c = serve(C);
    const dialer = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: (n) => (n === "edgeb" ? catalogNode("edgeb", c.server.port) : undefined),
      relay: () => undefined,
    });
    const error = (await dialer
      .dial({ kind: "node", node: "edgeb", service: "echo" })
      .catch((e) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/edgeb/);
    expect(error.message).toMatch(/TLS handshake|not node edgeb/);
    await Bun.sleep(50);
    expect(c.echo.streams).toHaveLength(0);
  });

  test("dotted node names, up to the longest (253 characters), dial and name their peers", async () => {
    const longest = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    for (const [from, to] of [
      ["edge.site-a", "cloud.kubeedge"],
      ["cloud.kubeedge", longest],
    ] as const) {
      const { server, echo } = serve(ca.node(to));
      const credentials = ca.node(from);
      const dialer = new TunnelDialer({
        node: from,
        credentials: () => credentials,
        lookup: (n) => (n === to ? catalogNode(to, server.port) : undefined),
        relay: () => undefined,
      });
      const d = await dialer.dial({ kind: "node", node: to, service: "api.team-b" });
      await waitFor("the stream", () => echo.streams.length === 1);
      expect(echo.streams[0]).toMatchObject({ service: "api.team-b", peer: from, via: "direct" });
      d.destroy();
    }
  });

  test("8 MB each way arrive byte-exact; ping and distance", async () => {
    const { server, echo } = serve(B);
    const dialer = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: (n) =>
        n === "edgeb" ? catalogNode("edgeb", server.port, ["127.0.0.99", "127.0.0.1"]) : undefined,
      relay: () => undefined,
    });
    expect(dialer.distance("edgeb")).toBeUndefined();
    const ms = await dialer.ping("edgeb");
    expect(ms).toBeGreaterThan(0);
    expect(dialer.distance("edgeb")).toBeGreaterThan(0);
    expect(dialer.paths.preferredAddress("edgeb")).toBe("127.0.0.1");
    const data = payload(8 * 1024 * 1024);
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    const back = readAll(d);
    await writeAll(d, data);
    const got = await back;
    expect(got.length).toBe(data.length);
    expect(got.equals(Buffer.from(data))).toBe(true);
    expect(echo.streams.map((s) => s.peer)).toEqual(["edgea"]);
    expect(dialer.stats).toMatchObject({ direct: 1, relayed: 0 });
  });

  test("an unknown node, no certificate yet, an aborted dial: clear errors", async () => {
    const dialer = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: () => undefined,
      relay: () => undefined,
    });
    await expect(dialer.dial({ kind: "node", node: "nope", service: "echo" })).rejects.toMatchObject({
      code: "ENOTFOUND",
    });
    const bare = new TunnelDialer({
      node: "edgea",
      credentials: () => undefined,
      lookup: () => undefined,
      relay: () => undefined,
    });
    await expect(bare.dial({ kind: "node", node: "edgeb", service: "echo" })).rejects.toMatchObject({
      code: "ENOCERT",
    });
    const { server } = serve(B);
    const live = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: () => catalogNode("edgeb", server.port),
      relay: () => undefined,
    });
    const aborted = new AbortController();
    aborted.abort(new Error("gave up"));
    await expect(live.dial({ kind: "node", node: "edgeb", service: "echo" }, aborted.signal)).rejects.toThrow(
      "gave up",
    );
  });

  test("a node reached before whose agent restarts: the dial waits for it; one never reached does not", async () => {
    const first = serve(B);
    const port = first.server.port;
    const dialer = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: (n) => (n === "edgeb" ? catalogNode("edgeb", port) : undefined),
      relay: () => undefined,
    });
    (await dialer.dial({ kind: "node", node: "edgeb", service: "echo" })).destroy();
    // The agent stops (connections refused) and is back 600 ms later on the same port.
    first.server.stop();
    let second: ReturnType<typeof serve> | undefined;
    const back = setTimeout(() => {
      second = serveOn(B, port);
    }, 600);
    const started = performance.now();
    const d = await dialer.dial({ kind: "node", node: "edgeb", service: "echo" });
    clearTimeout(back);
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
    await waitFor("the stream on the restarted server", () => second?.echo.streams.length === 1);
    d.destroy();
    expect(dialer.stats.restartWaits).toBeGreaterThan(0);
    expect(dialer.stats).toMatchObject({ direct: 2, relayed: 0 });

    // A node at a port that never answered: refused at once (then the relay, none here).
    const fresh = new TunnelDialer({
      node: "edgea",
      credentials: () => A,
      lookup: () => catalogNode("edgeb", closedPort()),
      relay: () => undefined,
    });
    const t0 = performance.now();
    await expect(fresh.dial({ kind: "node", node: "edgeb", service: "echo" })).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(fresh.stats.restartWaits).toBe(0);
  });
});
