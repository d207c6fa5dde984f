// A pooled upstream connection that turns out dead (reset or EOF before any response byte) is
// retried once on a fresh connection when that is safe: an idempotent method (its head and the body
// bytes sent with it are sent again), or a request none of whose body was sent yet; never a request
// that was complete and not idempotent. And upstream connections carry TCP keep-alive, so one whose
// peer vanished silently fails instead of hanging until the response timeout. Real loopback sockets.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { retryable } from "../../../src/mesh/proxy/retry-policy.ts";
import {
  cleanupAll,
  droppingUpstream,
  okResponse,
  rawClient,
  rawUpstream,
  secondRequestOnPooled,
  startProxy,
  statusLines,
  until,
} from "./fixtures.ts";

afterAll(cleanupAll);

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: svc\r\n\r\n`;

describe("retryable (pure)", () => {
  test("idempotent methods with what was sent in the head; others only before any body byte", () => {
    expect(retryable("GET", false, 0, 0)).toBe(true);
    expect(retryable("PUT", true, 5, 0)).toBe(true); // body went with the head: sent again whole
    expect(retryable("DELETE", true, 0, 0)).toBe(true);
    expect(retryable("PUT", true, 0, 70_000)).toBe(false); // streamed body: cannot be sent again
    expect(retryable("POST", true, 0, 0)).toBe(true); // no body byte sent: the request is incomplete
    expect(retryable("PATCH", true, 0, 0)).toBe(true);
    expect(retryable("POST", true, 2, 0)).toBe(false); // complete request, not idempotent
    expect(retryable("POST", false, 0, 0)).toBe(false);
    expect(retryable("POST", true, 0, 1)).toBe(false);
  });
});

describe("a pooled connection found dead", () => {
  test("reset while an idempotent PUT (body sent with the head) waits: sent again whole on a fresh one", async () => {
    // Connection 0 answers its first request, then resets on the next one without a byte of answer.
    const up = droppingUpstream("reset", { answer: (req, conn) => `conn${conn}:${req.body.toString()}` });
    const px = startProxy(up.port);
    const client = await secondRequestOnPooled(
      px.port,
      "PUT /2 HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\n\r\nhello",
    );
    expect(statusLines(client.text())).toEqual([200, 200]);
    expect(client.text()).toContain("conn1:hello");
    expect(up.connections).toBe(2);
    const [, lost, retried] = up.requests;
    expect(retried?.head).toBe(lost?.head as string);
    expect(retried?.body.toString()).toBe("hello");
    expect(px.outcomes.map((o) => o.ok)).toEqual([true, true]);
  });

  test("EOF after a POST's head, before any body byte: retried, the body goes to the fresh one", async () => {
    const up = rawUpstream((req, _socket, conn) => okResponse(`conn${conn}:${req.body.toString()}`));
    const px = startProxy(up.port);
    const client = await rawClient(px.port);
    client.write(GET("/1"));
    await client.waitFor((t) => t.includes("conn0:"));
    // The head alone: the proxy forwards it on the pooled connection, which then closes.
    client.write("POST /2 HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\n\r\n");
    await until(() => Buffer.concat(up.received[0] ?? []).includes("POST /2"), 5000, "head on conn0");
    up.sockets[0]?.end();
    await until(() => up.connections === 2, 5000, "a fresh connection");
    client.write("world");
    await client.waitFor((t) => statusLines(t).length === 2);
    expect(statusLines(client.text())).toEqual([200, 200]);
    expect(client.text()).toContain("conn1:world");
    const onFresh = Buffer.concat(up.received[1] ?? []).toString("latin1");
    expect(onFresh.startsWith("POST /2 HTTP/1.1\r\n")).toBe(true);
    expect(onFresh.endsWith("\r\n\r\nworld")).toBe(true);
    expect(px.outcomes.map((o) => o.ok)).toEqual([true, true]);
  });

  test("a complete POST without a body is not sent twice: 502", async () => {
    const up = droppingUpstream("eof");
    const px = startProxy(up.port);
    const client = await secondRequestOnPooled(
      px.port,
      "POST /2 HTTP/1.1\r\nHost: svc\r\nContent-Length: 0\r\n\r\n",
    );
    expect(statusLines(client.text())).toEqual([200, 502]);
    expect(up.connections).toBe(1);
    expect(px.outcomes[1]).toMatchObject({ ok: false, error: "reset" });
  });

  test("retried once only: a fresh connection that dies too fails the request (502)", async () => {
    const up = droppingUpstream("reset", { everyConnection: true });
    const px = startProxy(up.port);
    const client = await secondRequestOnPooled(px.port, GET("/2"));
    expect(statusLines(client.text())).toEqual([200, 502]);
    expect(up.connections).toBe(2);
  });
});

/** Local ports of the sockets to 127.0.0.1:`port` whose keep-alive timer runs (/proc/net/tcp: tr 2). */
function keepAliveTimers(port: number): { established: number; keepalive: number } {
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let established = 0;
  let keepalive = 0;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[2] !== remote || f[3] !== "01") continue;
    established++;
    if (f[5]?.startsWith("02:")) keepalive++;
  }
  return { established, keepalive };
}

describe("TCP keep-alive", () => {
  test.skipIf(!existsSync("/proc/net/tcp"))(
    "pooled upstream connections run a keep-alive timer (first probe after 1 s idle)",
    async () => {
      const up = rawUpstream();
      const px = startProxy(up.port);
      expect(await (await fetch(`http://127.0.0.1:${px.port}/`)).text()).toBe("ok");
      expect(px.proxy.pool.idleCount()).toBe(1);
      expect(keepAliveTimers(up.port)).toEqual({ established: 1, keepalive: 1 });

      const off = startProxy(up.port, { poolOptions: { keepAliveMs: 0 } });
      expect(await (await fetch(`http://127.0.0.1:${off.port}/`)).text()).toBe("ok");
      expect(keepAliveTimers(up.port)).toEqual({ established: 2, keepalive: 1 });
    },
  );
});
