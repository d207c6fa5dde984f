// The HTTP proxy engine over real loopback sockets: keep-alive and pooling, header rewriting, framing,
// pipelining, errors and outcomes. (Streaming, uploads, WebSocket and CONNECT: http-proxy-stream.test.ts.)
import { afterAll, describe, expect, test } from "bun:test";
import type { RouteDecision } from "../../../src/mesh/proxy/http-proxy.ts";
import {
  cleanupAll,
  droppingUpstream,
  local,
  okResponse,
  rawClient,
  rawUpstream,
  secondRequestOnPooled,
  startProxy,
  statusLines,
  until,
} from "./fixtures.ts";

afterAll(cleanupAll);

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: svc\r\n${extra}\r\n`;

describe("keep-alive and the upstream pool", () => {
  test("100 requests on one client connection use one upstream connection", async () => {
    const up = rawUpstream();
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    for (let i = 0; i < 100; i++) {
      client.write(GET(`/${i}`));
      await client.waitFor((t) => statusLines(t).length === i + 1);
    }
    expect(up.connections).toBe(1);
    expect(up.requests.map((r) => r.head.split(" ")[1])).toEqual(
      Array.from({ length: 100 }, (_, i) => `/${i}`),
    );
    expect(px.outcomes.length).toBe(100);
    expect(px.outcomes.every((o) => o.ok && o.status === 200 && o.latencyMs >= 0)).toBe(true);
  });

  test("requests from many client connections share pooled upstream connections", async () => {
    const up = rawUpstream();
    const px = startProxy(up.port);
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`http://127.0.0.1:${px.port}/x${i}`);
      expect(await r.text()).toBe("ok");
    }
    expect(up.connections).toBe(1);
    expect(px.proxy.pool.stats.reuses).toBe(19);
  });

  test("pipelined requests are answered in order, one at a time", async () => {
    const up = rawUpstream((req) => okResponse(req.head.split(" ")[1] ?? ""));
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(
      `${GET("/a")}POST /b HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\n\r\nxyz${GET("/c", "Connection: close\r\n")}`,
    );
    await client.closed;
    const text = client.text();
    expect(statusLines(text)).toEqual([200, 200, 200]);
    expect(text.indexOf("/a")).toBeLessThan(text.indexOf("/b"));
    expect(text.indexOf("/b")).toBeLessThan(text.indexOf("/c"));
    expect(up.requests[1]?.body.toString()).toBe("xyz");
    expect(text).toContain("Connection: close");
  });

  test("a pooled connection found dead is retried once on a fresh one (GET), not for a POST", async () => {
    // Connection 0 answers its first request, then swallows the next one and closes (the keep-alive race).
    const up = droppingUpstream("eof");
    const px = startProxy(up.port);
    const client = await secondRequestOnPooled(px.port, GET("/2"));
    expect(client.text()).toContain("conn1");
    expect(up.connections).toBe(2);
    expect(px.outcomes.map((o) => o.ok)).toEqual([true, true]);

    const up2 = droppingUpstream("eof");
    const px2 = startProxy(up2.port);
    const c2 = await secondRequestOnPooled(
      px2.port,
      "POST /2 HTTP/1.1\r\nHost: svc\r\nContent-Length: 2\r\n\r\nhi",
    );
    expect(statusLines(c2.text())).toEqual([200, 502]);
    expect(up2.connections).toBe(1);
    expect(px2.outcomes[1]).toMatchObject({ ok: false, error: "reset" });
  });

  test("an idle upstream connection closed by the upstream leaves the pool", async () => {
    const up = rawUpstream((_req, socket) => {
      setTimeout(() => socket.end(), 20);
      return okResponse("bye");
    });
    const px = startProxy(up.port);
    expect(await (await fetch(`http://127.0.0.1:${px.port}/`)).text()).toBe("bye");
    await until(() => px.proxy.pool.idleCount() === 0);
    expect(await (await fetch(`http://127.0.0.1:${px.port}/`)).text()).toBe("bye");
    expect(up.connections).toBe(2);
  });
});

describe("header rewriting", () => {
  test("hop-by-hop request fields are removed, X-Forwarded-* added", async () => {
    const up = rawUpstream();
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(
      "GET /h HTTP/1.1\r\nHost: svc:8080\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n" +
        "Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Forwarded-For: 10.1.1.1\r\nX-Kept: yes\r\n\r\n",
    );
    await client.waitFor((t) => statusLines(t).length === 1);
    const head = up.requests[0]?.head ?? "";
    for (const gone of ["connection", "x-secret", "keep-alive", "proxy-connection", "te", "upgrade"])
      expect(head.toLowerCase()).not.toContain(`\r\n${gone}:`);
    expect(head).toContain("X-Kept: yes\r\n");
    expect(head).toContain("Host: svc:8080\r\n");
    expect(head).toContain("X-Forwarded-For: 10.1.1.1, 127.0.0.1\r\n");
    expect(head).toContain("X-Forwarded-Proto: http\r\n");
    expect(head).toContain("X-Forwarded-Host: svc:8080\r\n");
    expect(head.startsWith("GET /h HTTP/1.1\r\n")).toBe(true);
  });

  test("hop-by-hop response fields are removed; Connection: close when the client asked", async () => {
    const up = rawUpstream(() =>
      okResponse("r", "Connection: X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\nX-Public: 2\r\n"),
    );
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(GET("/", "Connection: close\r\n"));
    await client.closed;
    const text = client.text();
    expect(text).toContain("X-Public: 2\r\n");
    expect(text).not.toContain("X-Internal");
    expect(text).not.toContain("Keep-Alive");
    expect(text).toContain("Connection: close\r\n");
    expect(text.endsWith("\r\n\r\nr")).toBe(true);
  });

  test("absolute-form is sent on in origin-form with the target's Host; route may drop and set fields", async () => {
    const up = rawUpstream();
    const px = startProxy(() => ({
      kind: "dial",
      target: local(up.port),
      removeHeaders: ["x-levee-node"],
      setHeaders: [["X-Levee-Hops", "1"]],
      upstreamLabel: "edge2/web#1",
    }));
    const client = await rawClient(px.port);
    client.write(
      "GET http://edge2:8080/p?q=1 HTTP/1.1\r\nHost: wrong\r\nX-Levee-Node: edge2\r\nX-Levee-Hops: 0\r\n\r\n",
    );
    const text = await client.waitFor((t) => statusLines(t).length === 1);
    const head = up.requests[0]?.head ?? "";
    expect(head.startsWith("GET /p?q=1 HTTP/1.1\r\n")).toBe(true);
    expect(head).toContain("Host: edge2:8080\r\n");
    expect(head).not.toContain("wrong");
    expect(head).not.toContain("X-Levee-Node");
    expect(head.match(/X-Levee-Hops/g)?.length).toBe(1);
    expect(head).toContain("X-Levee-Hops: 1\r\n");
    expect(text).toContain("X-Levee-Upstream: edge2/web#1\r\n");
  });

  test("HTTP/1.0 clients: keep-alive when asked, and the upstream connection is still reused", async () => {
    const up = rawUpstream();
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const first = await client.waitFor((t) => statusLines(t).length === 1);
    expect(first).toContain("Connection: keep-alive\r\n");
    client.write("GET /b HTTP/1.0\r\n\r\n");
    await client.closed;
    expect(client.text()).toContain("Connection: close\r\n");
    expect(up.requests[0]?.head.startsWith("GET /a HTTP/1.0\r\n")).toBe(true);
    expect(up.connections).toBe(1);
  });

  test("an HTTP/1.0 upstream: the client still gets HTTP/1.1, the upstream connection is not reused", async () => {
    const up = rawUpstream(() => "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(GET("/1"));
    await client.waitFor((t) => t.endsWith("ok"));
    client.write(GET("/2"));
    const text = await client.waitFor((t) => statusLines(t).length === 2 && t.endsWith("ok"));
    expect(text.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(up.connections).toBe(2);
  });
});

describe("bodies and framing", () => {
  test("GET (and DELETE) with a body are forwarded intact", async () => {
    const up = rawUpstream((req) => okResponse(String(req.body.length)));
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    const body = JSON.stringify({ query: "select", list: [1, 2, 3] });
    client.write(
      `GET /q HTTP/1.1\r\nHost: svc\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    client.write(`DELETE /d HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n\r\nbody`);
    await client.waitFor((t) => statusLines(t).length === 2);
    expect(up.requests[0]?.body.toString()).toBe(body);
    expect(up.requests[0]?.head).toContain(`Content-Length: ${body.length}\r\n`);
    expect(up.requests[1]?.body.toString()).toBe("body");
  });

  test("a chunked request stays chunked, with extensions and trailers, byte for byte", async () => {
    const up = rawUpstream();
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    const body = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n";
    client.write(`POST /c HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: Chunked\r\n\r\n${body}`);
    await client.waitFor((t) => statusLines(t).length === 1);
    expect(up.requests[0]?.body.toString()).toBe(body);
    expect(up.requests[0]?.head).toContain("Transfer-Encoding: chunked\r\n");
  });

  test("response framings: chunked, HEAD, 204, 304, close-delimited", async () => {
    const responses: Record<string, string> = {
      "/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "/head": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
      "/204": "HTTP/1.1 204 No Content\r\n\r\n",
      "/304": "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
    };
    const up = rawUpstream((req, socket) => {
      const path = req.head.split(" ")[1] ?? "";
      if (path === "/close") {
        socket.end("HTTP/1.1 200 OK\r\n\r\nuntil the end");
        return null;
      }
      return responses[path] ?? okResponse("?");
    });
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(
      `${GET("/chunked")}HEAD /head HTTP/1.1\r\nHost: svc\r\n\r\n${GET("/204")}${GET("/304")}${GET("/close")}`,
    );
    await client.closed;
    const text = client.text();
    expect(statusLines(text)).toEqual([200, 200, 204, 304, 200]);
    expect(text).toContain("3\r\nabc\r\n0\r\n\r\n");
    expect(text.endsWith("Connection: close\r\n\r\nuntil the end")).toBe(true);
    expect(px.outcomes.map((o) => o.status)).toEqual([200, 200, 204, 304, 200]);
  });

  test("Expect: 100-continue: the client sends its body after the upstream's 100", async () => {
    const up = rawUpstream((req) => okResponse(`got ${req.body.toString()}`));
    // the raw upstream answers 100 as soon as it sees the head
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    up.sockets.length = 0;
    client.write("PUT /e HTTP/1.1\r\nHost: svc\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    await until(() => up.sockets.length === 1);
    (up.sockets[0] as { write(s: string): number }).write("HTTP/1.1 100 Continue\r\n\r\n");
    await client.waitFor((t) => t.startsWith("HTTP/1.1 100 Continue\r\n\r\n"));
    client.write("data");
    const text = await client.waitFor((t) => t.includes("got data"));
    expect(statusLines(text)).toEqual([100, 200]);
  });
});

describe("refusals and errors", () => {
  test("route may answer itself (503 with JSON), keeping the connection for a GET", async () => {
    const refusal: RouteDecision = {
      kind: "respond",
      status: 503,
      headers: { "Content-Type": "application/json", "X-Levee-Error": "no ready worker of web on edge2" },
      body: JSON.stringify({ error: "no ready worker", service: "web", node: "edge2" }),
    };
    const px = startProxy(() => refusal);
    const client = await rawClient(px.port);
    client.write(GET("/"));
    client.write(GET("/again"));
    const text = await client.waitFor((t) => statusLines(t).length === 2);
    expect(text).toContain("X-Levee-Error: no ready worker of web on edge2\r\n");
    expect(text).toContain('"node":"edge2"');
    expect(client.isClosed()).toBe(false);
  });

  test("upstream refused → 502 with X-Levee-Error and outcome refused", async () => {
    const gone = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = gone.port;
    gone.stop(true);
    const px2 = startProxy(port);
    const r = await fetch(`http://127.0.0.1:${px2.port}/`);
    expect(r.status).toBe(502);
    expect(r.headers.get("x-levee-error")).toContain("upstream-refused");
    expect(await r.json()).toMatchObject({ status: 502, service: "web", worker: 0 });
    expect(px2.outcomes).toEqual([expect.objectContaining({ ok: false, error: "refused" })]);
  });

  test("upstream that does not answer → 504 and outcome timeout", async () => {
    const up = rawUpstream(() => null);
    const px = startProxy(up.port, { timeouts: { responseMs: 300 } });
    const r = await fetch(`http://127.0.0.1:${px.port}/slow`);
    expect(r.status).toBe(504);
    expect(r.headers.get("x-levee-error")).toContain("upstream-timeout");
    expect(px.outcomes).toEqual([expect.objectContaining({ ok: false, error: "timeout" })]);
  });

  test("an upstream that dies mid-response cuts the client connection (never a clean, short response)", async () => {
    const up = rawUpstream((_req, socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
      setTimeout(() => socket.end(), 30);
      return null;
    });
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(GET("/"));
    const error = await client.closed;
    expect(client.text()).toContain("partial");
    expect(error).toBeDefined();
    expect(px.outcomes[0]).toMatchObject({ ok: false, error: "reset" });
  });

  test("malformed requests → 400 + Connection: close, closed; nothing reaches the upstream", async () => {
    const up = rawUpstream();
    const px = startProxy(up.port);
    const attacks = [
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\nHost: x\n\n",
      "GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
      "BAD REQUEST\r\n\r\n",
    ];
    for (const attack of attacks) {
      const client = await rawClient(px.port);
      client.write(`${attack}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`);
      await client.closed;
      const text = client.text();
      expect([attack, statusLines(text)]).toEqual([attack, [400]]);
      expect(text).toContain("Connection: close\r\n");
      expect(text).toContain("X-Levee-Error: bad-request");
    }
    expect(up.requests.length).toBe(0);
  });

  test("a malformed chunk in a body being streamed: the upstream connection is dropped, the client gets 400", async () => {
    const up = rawUpstream(() => null);
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await until(() => up.received[0]?.length === 1);
    client.write("zz\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    await client.closed;
    expect(statusLines(client.text())).toEqual([400]);
    await until(() => px.upstreams[0]?.duplex.isClosed === true);
    expect(up.requests.length).toBe(0);
  });

  test("oversized head → 431; too many fields → 431; slow head → 408", async () => {
    const px = startProxy(1, { timeouts: { headMs: 300 } });
    const big = await rawClient(px.port);
    big.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70_000)}`);
    await big.closed;
    expect(statusLines(big.text())).toEqual([431]);
    const many = await rawClient(px.port);
    many.write(`GET / HTTP/1.1\r\nHost: x\r\n${"X-A: 1\r\n".repeat(101)}\r\n`);
    await many.closed;
    expect(statusLines(many.text())).toEqual([431]);
    const slow = await rawClient(px.port);
    slow.write("GET / HTTP/1.1\r\nHost: x\r\n");
    await slow.closed;
    expect(statusLines(slow.text())).toEqual([408]);
    expect(px.proxy.stats.badRequests).toBe(3);
  });

  test("route decisions may be async; a throwing route is a 500, not a crash", async () => {
    const up = rawUpstream();
    let calls = 0;
    const px = startProxy(async (head) => {
      calls++;
      await Bun.sleep(5);
      if (head.path === "/boom") throw new Error("boom");
      return { kind: "dial", target: local(up.port) };
    });
    expect((await fetch(`http://127.0.0.1:${px.port}/ok`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${px.port}/boom`)).status).toBe(500);
    expect(calls).toBe(2);
  });
});
