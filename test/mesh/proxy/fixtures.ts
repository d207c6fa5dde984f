// Real-socket fixtures for the proxy tests: the proxy on a loopback port with a route, a raw HTTP
// upstream that records every byte it receives (its own minimal framing, independent of the proxy's
// parser), and a raw client that writes exact bytes and reads what comes back.
import type { Socket, TCPSocketListener } from "bun";
import type { Dialer, DialTarget, Duplex } from "../../../src/mesh/contracts.ts";
import type { ProxyOutcome } from "../../../src/mesh/proxy/dial-errors.ts";
import {
  createHttpProxy,
  type HttpProxy,
  type HttpProxyOptions,
  type RouteFn,
} from "../../../src/mesh/proxy/http-proxy.ts";
import { localDialer } from "../../../src/mesh/proxy/local-dialer.ts";
import type { SocketDuplex } from "../../../src/mesh/proxy/socket-duplex.ts";
import { listenDuplex } from "../../../src/mesh/proxy/socket-listen-connect.ts";

const cleanups: (() => void)[] = [];
export function cleanupAll(): void {
  for (const c of cleanups.splice(0)) {
    try {
      c();
    } catch {
      // already closed
    }
  }
}

export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await Bun.sleep(2);
  }
}

export const local = (port: number): DialTarget => ({ kind: "local", service: "web", index: 0, port });

export interface ProxyFixture {
  port: number;
  proxy: HttpProxy;
  outcomes: ProxyOutcome[];
  /** Every upstream Duplex the proxy dialed, with the most bytes ever queued on it. */
  upstreams: Observed[];
  /** Every client connection the proxy served, likewise. */
  inbounds: Observed[];
}

export interface Observed {
  duplex: SocketDuplex;
  maxQueued: number;
}

/** Records the most bytes ever waiting in the duplex's write queue (it stays a real socket). */
function observe(duplex: SocketDuplex, into: Observed[]): SocketDuplex {
  const entry = { duplex, maxQueued: 0 };
  into.push(entry);
  const write = duplex.write.bind(duplex);
  duplex.write = (chunk: Uint8Array) => {
    const ok = write(chunk);
    entry.maxQueued = Math.max(entry.maxQueued, duplex.bufferedAmount);
    return ok;
  };
  return duplex;
}

/** Wraps a dialer to observe the queues of the upstream connections it makes (they are real sockets). */
function observingDialer(inner: Dialer, into: Observed[]): Dialer {
  return {
    async dial(target, signal) {
      return observe((await inner.dial(target, signal)) as SocketDuplex, into);
    },
  };
}

/** The proxy on 127.0.0.1; `route` defaults to the given upstream port, reporting outcomes. */
export function startProxy(
  routeOrPort: RouteFn | number,
  options: Partial<Omit<HttpProxyOptions, "route" | "dialer">> = {},
): ProxyFixture {
  const outcomes: ProxyOutcome[] = [];
  const upstreams: Observed[] = [];
  const inbounds: Observed[] = [];
  const route: RouteFn =
    typeof routeOrPort === "number"
      ? () => ({ kind: "dial", target: local(routeOrPort), done: (o) => outcomes.push(o) })
      : routeOrPort;
  const proxy = createHttpProxy({ ...options, route, dialer: observingDialer(localDialer(), upstreams) });
  const listener = listenDuplex({ hostname: "127.0.0.1", port: 0 }, (d) =>
    proxy.serve(observe(d, inbounds), { remoteAddress: d.remoteAddress }),
  );
  cleanups.push(
    () => listener.stop(true),
    () => proxy.close(),
  );
  return { port: listener.port, proxy, outcomes, upstreams, inbounds };
}

export interface UpstreamRequest {
  head: string;
  body: Buffer;
}

export interface RawUpstream {
  port: number;
  connections: number;
  requests: UpstreamRequest[];
  /** Every byte received, per connection. */
  received: Buffer[][];
  sockets: Socket<RawState>[];
}

interface RawState {
  index: number;
  buf: Buffer;
}

type Responder = (
  req: UpstreamRequest,
  socket: Socket<RawState>,
  connection: number,
) => string | Buffer | null;

/**
 * A raw HTTP/1.1 upstream: frames requests by Content-Length or a chunked body ending in 0\r\n\r\n
 * (enough for the tests' own requests), records them, and writes what `respond` returns (null: nothing).
 */
export function rawUpstream(respond: Responder = () => okResponse("ok")): RawUpstream {
  const state: RawUpstream = { port: 0, connections: 0, requests: [], received: [], sockets: [] };
  const listener: TCPSocketListener<RawState> = Bun.listen<RawState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { index: state.connections++, buf: Buffer.alloc(0) };
        state.received.push([]);
        state.sockets.push(s);
      },
      data(s, chunk) {
        state.received[s.data.index]?.push(Buffer.from(chunk));
        s.data.buf = Buffer.concat([s.data.buf, chunk]);
        for (;;) {
          const buf = s.data.buf;
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buf.subarray(0, end + 4).toString("latin1");
          const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
          let bodyEnd = end + 4;
          if (cl) bodyEnd += Number(cl[1]);
          else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
            const last = buf.indexOf("\r\n0\r\n", end + 2);
            const trailersEnd = last < 0 ? -1 : buf.indexOf("\r\n\r\n", last + 3);
            if (trailersEnd < 0) return;
            bodyEnd = trailersEnd + 4;
          }
          if (buf.length < bodyEnd) return;
          const req = { head, body: Buffer.from(buf.subarray(end + 4, bodyEnd)) };
          s.data.buf = Buffer.from(buf.subarray(bodyEnd));
          state.requests.push(req);
          const out = respond(req, s, s.data.index);
          if (out !== null) s.write(out);
        }
      },
    },
  });
  state.port = listener.port;
  cleanups.push(() => listener.stop(true));
  return state;
}

/**
 * An upstream for the pooled-connection races: a connection answers its first request, then drops
 * the next one without a byte of answer, by EOF or by reset (only connection 0 does, unless
 * `everyConnection`). Answers are 200s whose body is `answer(request, connection)`.
 */
export function droppingUpstream(
  drop: "eof" | "reset",
  options: { everyConnection?: boolean; answer?: (req: UpstreamRequest, connection: number) => string } = {},
): RawUpstream {
  const answer = options.answer ?? ((_req, connection) => `conn${connection}`);
  const up = rawUpstream((req, socket, connection) => {
    const earlier = up.requests.filter((r) => r !== req).length;
    if ((options.everyConnection || connection === 0) && earlier >= 1) {
      if (drop === "eof") socket.end();
      else socket.terminate();
      return null;
    }
    return okResponse(answer(req, connection));
  });
  return up;
}

/**
 * A client connection through the proxy on `proxyPort` that sends GET /1 (answered on the upstream's
 * connection 0, which the proxy then pools) and then `second`; resolves once both answers arrived.
 */
export async function secondRequestOnPooled(proxyPort: number, second: string): Promise<RawClient> {
  const client = await rawClient(proxyPort);
  client.write("GET /1 HTTP/1.1\r\nHost: svc\r\n\r\n");
  await client.waitFor((t) => t.includes("conn0"));
  client.write(second);
  await client.waitFor((t) => statusLines(t).length === 2);
  return client;
}

export const okResponse = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

export interface RawClient {
  write(data: string | Uint8Array): void;
  end(): void;
  /** Everything received so far. */
  text(): string;
  bytes(): Buffer;
  closed: Promise<Error | undefined>;
  isClosed(): boolean;
  /** Waits until the received text satisfies `cond`. */
  waitFor(cond: (text: string) => boolean, ms?: number): Promise<string>;
  destroy(): void;
}

export async function rawClient(port: number, closeOnEnd = true): Promise<RawClient> {
  const chunks: Buffer[] = [];
  let closed = false;
  let resolveClosed: (e: Error | undefined) => void = () => {};
  const closedPromise = new Promise<Error | undefined>((r) => {
    resolveClosed = r;
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    allowHalfOpen: true,
    socket: {
      data(_s, d) {
        chunks.push(Buffer.from(d));
      },
      close(_s, error) {
        closed = true;
        resolveClosed(error);
      },
      end(s) {
        // the proxy is done: close, as clients do at the end of a response with Connection: close
        if (closeOnEnd) s.end();
      },
    },
  });
  cleanups.push(() => socket.terminate());
  const bytes = () => Buffer.concat(chunks);
  return {
    write(data) {
      const buf = typeof data === "string" ? Buffer.from(data, "latin1") : data;
      let off = 0;
      while (off < buf.length) {
        const n = socket.write(buf.subarray(off));
        if (n <= 0) break;
        off += n;
      }
    },
    end: () => socket.shutdown(),
    bytes,
    text: () => bytes().toString("latin1"),
    closed: closedPromise,
    isClosed: () => closed,
    async waitFor(cond, ms = 5000) {
      await until(() => cond(bytes().toString("latin1")), ms, "expected response");
      return bytes().toString("latin1");
    },
    destroy: () => socket.terminate(),
  };
}

/** Number of complete "HTTP/1.1 NNN" status lines in a text. */
export const statusLines = (text: string) =>
  [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

export type { Duplex };
