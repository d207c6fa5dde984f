// The proxy's streaming paths over real sockets, with real servers upstream (Bun.serve): bodies streamed
// both ways (never buffered whole), an 8 MB multipart upload byte-exact with bounded queues, a slow
// reader downstream, WebSocket through Upgrade, CONNECT tunnels.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { connectDuplex } from "../../../src/mesh/proxy/socket-listen-connect.ts";
import { cleanupAll, local, rawClient, startProxy, statusLines, until } from "./fixtures.ts";

const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
  cleanupAll();
});

/** Bun.serve on a free loopback port (options loosely typed: fetch, websocket, limits). */
function serve(options: Record<string, unknown>) {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", ...options } as unknown as Parameters<
    typeof Bun.serve
  >[0]);
  servers.push(server);
  return server;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
/** What the proxy may hold in one write queue: the high-water mark plus one received chunk (≤ 512 KiB). */
const QUEUE_BOUND = 64 * 1024 + 512 * 1024;

describe("streaming", () => {
  test("a chunked request reaches the upstream before the client has finished sending it", async () => {
    let firstChunk = "";
    let firstChunkSeen = false;
    const upstream = serve({
      async fetch(req: Request) {
        const reader = (req.body as ReadableStream<Uint8Array>).getReader();
        const first = await reader.read();
        firstChunk = Buffer.from(first.value ?? []).toString();
        firstChunkSeen = true;
        let rest = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          rest += Buffer.from(value).toString();
        }
        return new Response(`${firstChunk}|${rest}`);
      },
    });
    const px = startProxy(upstream.port as number);
    const client = await rawClient(px.port);
    client.write("POST /up HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst!\r\n");
    await until(() => firstChunkSeen, 5000, "upstream saw the first chunk");
    expect(firstChunk).toBe("first!");
    client.write("4\r\nmore\r\n0\r\n\r\n");
    const text = await client.waitFor((t) => t.includes("first!|more"));
    expect(statusLines(text)).toEqual([200]);
  });

  test("a streamed response reaches the client before the upstream has finished it", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    const upstream = serve({
      fetch() {
        const stream = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode("part one;"));
            await released;
            controller.enqueue(new TextEncoder().encode("part two"));
            controller.close();
          },
        });
        return new Response(stream);
      },
    });
    const px = startProxy(upstream.port as number);
    const client = await rawClient(px.port);
    client.write("GET /stream HTTP/1.1\r\nHost: svc\r\n\r\n");
    const first = await client.waitFor((t) => t.includes("part one;"));
    expect(first).not.toContain("part two");
    expect(first.toLowerCase()).toContain("transfer-encoding: chunked");
    release();
    await client.waitFor((t) => t.includes("part two") && t.endsWith("0\r\n\r\n"));
  });

  test("an 8 MB multipart upload arrives byte-exact; the proxy's queues stay bounded (slow upstream)", async () => {
    const file = randomBytes(8 << 20);
    const upstream = serve({
      maxRequestBodySize: 64 << 20,
      async fetch(req: Request) {
        // a slow reader: the proxy must hold the client back, not buffer the upload
        const chunks: Uint8Array[] = [];
        let n = 0;
        for await (const chunk of req.body as ReadableStream<Uint8Array>) {
          chunks.push(chunk);
          if (++n % 8 === 0) await Bun.sleep(1);
        }
        const form = await new Response(Buffer.concat(chunks), {
          headers: { "content-type": req.headers.get("content-type") ?? "" },
        }).formData();
        const part = form.get("video") as File;
        return Response.json({ sha: sha256(new Uint8Array(await part.arrayBuffer())), size: part.size });
      },
    });
    const px = startProxy(upstream.port as number);
    const form = new FormData();
    form.append("meta", JSON.stringify({ camera: 3 }));
    form.append("video", new Blob([file]), "chunk-0001.mp4");
    const r = await fetch(`http://127.0.0.1:${px.port}/upload`, { method: "POST", body: form });
    expect(await r.json()).toEqual({ sha: sha256(file), size: file.length });
    const queued = Math.max(...px.upstreams.map((u) => u.maxQueued));
    expect(queued).toBeLessThanOrEqual(QUEUE_BOUND);
  });

  test("an 8 MB download to a client that reads slowly: the proxy's queue to it stays bounded", async () => {
    const blob = randomBytes(8 << 20);
    const upstream = serve({ fetch: () => new Response(blob) });
    const px = startProxy(upstream.port as number);
    const client = await connectDuplex("127.0.0.1", px.port);
    const chunks: Buffer[] = [];
    let bytes = 0;
    client.onData((c) => {
      chunks.push(Buffer.from(c));
      bytes += c.byteLength;
    });
    client.pause();
    client.write(Buffer.from("GET /big HTTP/1.1\r\nHost: svc\r\n\r\n"));
    await Bun.sleep(200);
    // The proxy has filled the socket buffers and stopped reading from the upstream.
    const inbound = px.inbounds[0];
    expect(inbound).toBeDefined();
    expect(inbound?.maxQueued ?? 0).toBeLessThanOrEqual(QUEUE_BOUND);
    // read slowly
    while (bytes < blob.length) {
      client.resume();
      await Bun.sleep(2);
      client.pause();
    }
    client.resume();
    await until(() => Buffer.concat(chunks).includes(Buffer.from(blob.subarray(-64))));
    const all = Buffer.concat(chunks);
    const body = all.subarray(all.indexOf("\r\n\r\n") + 4);
    expect(sha256(body)).toBe(sha256(blob));
    expect(inbound?.maxQueued ?? 0).toBeLessThanOrEqual(QUEUE_BOUND);
    client.destroy();
  });
});

describe("upgrades and tunnels", () => {
  test("WebSocket echo through the proxy: text and 1 MB binary, byte-exact", async () => {
    const upstream = serve({
      fetch(req: Request, server: { upgrade(r: Request): boolean }) {
        if (server.upgrade(req)) return undefined;
        return new Response("no upgrade", { status: 400 });
      },
      websocket: {
        message(ws: { send(m: string | Uint8Array): void }, message: string | Uint8Array) {
          ws.send(message);
        },
      },
    });
    const px = startProxy(upstream.port as number);
    const ws = new WebSocket(`ws://127.0.0.1:${px.port}/ws`);
    ws.binaryType = "arraybuffer";
    const received: (string | ArrayBuffer)[] = [];
    ws.onmessage = (e) => received.push(e.data);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    const binary = randomBytes(1 << 20);
    ws.send("hello through levee");
    ws.send(binary);
    await until(() => received.length === 2, 10_000, "echoes");
    expect(received[0]).toBe("hello through levee");
    expect(sha256(new Uint8Array(received[1] as ArrayBuffer))).toBe(sha256(binary));
    ws.close();
    await until(() => px.outcomes.length === 1);
    expect(px.outcomes[0]).toMatchObject({ ok: true, status: 101 });
  });

  test("an upgrade the upstream declines is an ordinary response on a kept-alive connection", async () => {
    const upstream = serve({ fetch: () => new Response("plain") });
    const px = startProxy(upstream.port as number);
    const client = await rawClient(px.port);
    client.write("GET /ws HTTP/1.1\r\nHost: svc\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
    await client.waitFor((t) => t.endsWith("plain"));
    client.write("GET /again HTTP/1.1\r\nHost: svc\r\n\r\n");
    await client.waitFor((t) => statusLines(t).length === 2 && t.endsWith("plain"));
  });

  test("CONNECT: route decides, 200 Connection established, then a raw two-way tunnel", async () => {
    const echo = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (s, d) => void s.write(Buffer.from(d).toString().toUpperCase()) },
    });
    servers.push(echo);
    const routed: string[] = [];
    const px = startProxy((head) => {
      routed.push(`${head.method} ${head.authority}`);
      return { kind: "dial", target: local(echo.port) };
    });
    const client = await rawClient(px.port);
    client.write("CONNECT redis.cloud.levee:6379 HTTP/1.1\r\nHost: redis.cloud.levee:6379\r\n\r\nping");
    await client.waitFor((t) => t === "HTTP/1.1 200 Connection established\r\n\r\nPING");
    client.write("raw bytes");
    await client.waitFor((t) => t.endsWith("RAW BYTES"));
    expect(routed).toEqual(["CONNECT redis.cloud.levee:6379"]);
  });

  test("CONNECT to a target that refuses → 502, closed", async () => {
    const gone = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = gone.port;
    gone.stop(true);
    const px = startProxy(port);
    const client = await rawClient(px.port);
    client.write("CONNECT x:1 HTTP/1.1\r\nHost: x:1\r\n\r\n");
    await client.closed;
    expect(statusLines(client.text())).toEqual([502]);
    expect(px.outcomes[0]).toMatchObject({ ok: false, error: "refused" });
  });
});
