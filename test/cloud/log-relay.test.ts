// The log relay in one process, over real sockets: the cloud API (Bun.serve) with its log routes
// and stream registry, and a node's LogServer that gets the log requests the registry publishes
// (standing in for the MQTT hop, which test/e2e/logs.test.ts covers) and uploads to the API with
// its node credentials. Checks: bytes arrive intact, errors are relayed, uploads are authenticated
// and bound to their node, a client that goes away stops the node's reading, and backpressure
// holds a fast node back while the client does not read.
import { afterAll, describe, expect, test } from "bun:test";
import { MAX_JSON_BODY_BYTES } from "../../src/cloud/api/errors.ts";
import { LogStreams } from "../../src/cloud/log-streams.ts";
import { joinNode } from "../../src/cloud/node-registry.ts";
import { LogServer, type OpenLog } from "../../src/node/workers/logs/log-server.ts";
import { decodeLogRequest } from "../../src/protocol/log-request.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../harness/cloud-api.ts";
import { makeTempDir, waitUntil } from "../harness/cluster.ts";

const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });

function join(name: string) {
  const outcome = joinNode(
    store,
    mosquittoHasher,
    { name, labels: {}, addresses: [], agentVersion: "test", arch: "x64" },
    () => {},
  );
  if (outcome.kind !== "joined") throw new Error("join failed");
  store.db.query("UPDATE nodes SET online = 1, phase = 'Ready' WHERE name = ?").run(name);
  return outcome.credentials;
}
const edge1 = join("edge1");
const edge2 = join("edge2");
join("offline1");
store.db.query("UPDATE nodes SET online = 0, phase = 'Disconnected' WHERE name = 'offline1'").run();

/** What each node's log server does with a request: set per test. */
let openLog: OpenLog = () => ({ status: 404, error: "no such worker" });
/** Requests are delivered to this node's server ("the node answers"), or dropped (silent node). */
let answering = true;
let publishOk = true;
/** Whether the broker says edge1's session is connected (the embedded broker knows). */
let sessionUp = true;
let server1: LogServer;
const streams = new LogStreams({
  answerTimeoutMs: 300,
  connected: (node) => node !== "edge1" || sessionUp,
  publish: (topic, payload) => {
    if (!publishOk) return false;
    const node = topic.split("/")[3] ?? "";
    const decoded = decodeLogRequest(node, payload);
    if (!decoded.ok) throw new Error(decoded.reason);
    if (answering && node === "edge1") server1.onMessage(payload);
    return true;
  },
});
const { app, log } = inProcessCloud({ store, replanOnJoin: false, deps: { logs: streams } });
const http = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: app.fetch,
  idleTimeout: 2,
  development: false,
  maxRequestBodySize: Number.MAX_SAFE_INTEGER, // as the cloud agent serves it
});
const base = `http://127.0.0.1:${http.port}`;
server1 = new LogServer({
  node: "edge1",
  cloudUrl: () => base,
  username: edge1.username,
  password: edge1.password,
  openLog: (...args) => openLog(...args),
  log,
});
afterAll(() => {
  server1.close();
  http.stop(true);
  store.close();
});

const getLogs = (query: string, init: RequestInit = {}) =>
  fetch(`${base}/api/v1/logs/echo?${query}`, { ...init, headers: { authorization: `Bearer ${ADMIN}` } });

async function* lines(text: string) {
  for (const line of text.split(/(?<=\n)/)) yield new TextEncoder().encode(line);
}

describe("log relay", () => {
  test("the node's bytes reach the client; the request carries service, index, tail, follow", async () => {
    let asked: unknown;
    openLog = (service, index, options) => {
      asked = { service, index, tail: options.tail, follow: options.follow };
      return lines("one\ntwo\nthree\n");
    };
    const res = await getLogs("node=edge1&worker=2&tail=5");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe("one\ntwo\nthree\n");
    expect(asked).toEqual({ service: "echo", index: 2, tail: 5, follow: false });
    await waitUntil("the upload to end", () => server1.streams() === 0 && streams.counts().flowing === 0);
  });

  test("errors: the node's 404, an unknown or disconnected node, a silent node, no broker, bad input", async () => {
    openLog = (service, index) => ({ status: 404, error: `node edge1 has no worker ${service}/${index}` });
    const missing = await getLogs("node=edge1&worker=7");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "node edge1 has no worker echo/7" });

    // A source that fails at once (Docker: no such container) is an error, not an empty 200.
    openLog = () =>
      (async function* () {
        yield* [];
        throw Object.assign(new Error("No such container: 1234"), { status: 404 });
      })();
    const gone = await getLogs("node=edge1");
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: "cannot read the log of echo/0: No such container: 1234" });

    const unknown = await getLogs("node=nowhere");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('node "nowhere" not found');

    const offline = await getLogs("node=offline1");
    expect(offline.status).toBe(503);
    expect(((await offline.json()) as { error: string }).error).toStartWith("node offline1 is disconnected");

    answering = false;
    const silent = await getLogs("node=edge1");
    answering = true;
    expect(silent.status).toBe(504);
    expect(((await silent.json()) as { error: string }).error).toBe(
      "node edge1 did not answer the log request within 0 s",
    );

    // Its phase still says Ready, but the broker has no session for it: 503 at once, no wait.
    sessionUp = false;
    const noSession = await getLogs("node=edge1");
    sessionUp = true;
    expect(noSession.status).toBe(503);
    expect(((await noSession.json()) as { error: string }).error).toBe(
      "node edge1 is not connected to the cloud's MQTT broker now; try again when it is back",
    );

    publishOk = false;
    const noBroker = await getLogs("node=edge1");
    publishOk = true;
    expect(noBroker.status).toBe(503);

    const bad = await getLogs("node=Not_A_Node&worker=-1&tail=x&follow=maybe");
    expect(bad.status).toBe(400);
    const issues = ((await bad.json()) as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(issues.sort()).toEqual(["follow", "node", "tail", "worker"]);
    expect((await getLogs("worker=1")).status).toBe(400);
    const badService = await fetch(`${base}/api/v1/logs/..%2Fetc?node=edge1`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(badService.status).toBe(400);
    expect(((await badService.json()) as { issues: { path: string }[] }).issues[0]?.path).toBe("service");
    expect(streams.counts()).toEqual({ pending: 0, flowing: 0 });
  });

  test("uploads need the node's credentials and may only answer that node's requests", async () => {
    const id = "AAAAAAAAAAAAAAAAAAAAAA";
    const post = (credentials: string | undefined, path = `/api/v1/logs/streams/${id}`) =>
      fetch(`${base}${path}`, {
        method: "POST",
        body: "x",
        headers: credentials ? { authorization: `Basic ${btoa(credentials)}` } : {},
      });
    expect((await post(undefined)).status).toBe(401);
    expect((await post(`edge1:wrong`)).status).toBe(401);
    expect((await post(`edge1:${edge1.password}`)).status).toBe(404); // no such stream waiting
    expect((await post(`edge1:${edge1.password}`, "/api/v1/logs/streams/bad!id")).status).toBe(400);
    // The admin token is not a node's credential.
    const admin = await fetch(`${base}/api/v1/logs/streams/${id}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(admin.status).toBe(401);

    // A request for edge1 that edge2 tries to answer: 403, and the client still gets edge1's answer.
    answering = false;
    const pending = getLogs("node=edge1");
    await waitUntil("the request to wait", () => streams.counts().pending === 1);
    const [waitingId] = (streams as unknown as { pending: Map<string, unknown> }).pending.keys();
    const stolen = await post(`edge2:${edge2.password}`, `/api/v1/logs/streams/${waitingId}`);
    expect(stolen.status).toBe(403);
    const answered = await fetch(`${base}/api/v1/logs/streams/${waitingId}/error`, {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`edge1:${edge1.password}`)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ status: 404, error: "no worker echo/0" }),
    });
    answering = true;
    expect(answered.status).toBe(200);
    const res = await pending;
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no worker echo/0" });
  });

  test("a log-stream error body (mounted before the API's body limit) is bounded: 413 past 1 MiB", async () => {
    const url = `${base}/api/v1/logs/streams/${"a".repeat(32)}/error`;
    const headers = {
      authorization: `Basic ${btoa(`edge1:${edge1.password}`)}`,
      "content-type": "application/json",
    };
    const big = JSON.stringify({ status: 500, error: "x".repeat(MAX_JSON_BODY_BYTES) });
    const declared = await fetch(url, { method: "POST", headers, body: big });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({
      error: `the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
    });
    // Without a Content-Length (chunked): reading stops at the bound, the rest is never buffered.
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        if (sent > 64 * MAX_JSON_BODY_BYTES) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(url, { method: "POST", headers, body: endless });
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(16 * MAX_JSON_BODY_BYTES);
  });

  test("a client that goes away ends the node's upload, also while following a quiet log", async () => {
    let finished = false;
    openLog = (_service, _index, options) =>
      (async function* () {
        try {
          yield new TextEncoder().encode("first\n");
          // A quiet follow: nothing more until the signal aborts (longer than the idle timeout).
          await new Promise((resolve) => options.signal?.addEventListener("abort", resolve));
        } finally {
          finished = true;
        }
      })();
    const abort = new AbortController();
    const res = await getLogs("node=edge1&follow=1", { signal: abort.signal });
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toBe("first\n");
    await Bun.sleep(2500); // past the server's 2 s idle timeout: the streams stay open
    expect(server1.streams()).toBe(1);
    abort.abort();
    await waitUntil("the node to stop reading", () => finished && server1.streams() === 0, 5000);
    await waitUntil("the cloud to forget the stream", () => streams.counts().flowing === 0);
  });

  test("a node that disconnects breaks its streams off", async () => {
    openLog = (_service, _index, options) =>
      (async function* () {
        yield new TextEncoder().encode("first\n");
        await new Promise((resolve) => options.signal?.addEventListener("abort", resolve));
      })();
    const res = await getLogs("node=edge1&follow=1");
    const reader = res.body?.getReader();
    await reader?.read();
    streams.endNode("edge1", "node edge1 is disconnected");
    await expect(reader?.read()).rejects.toBeDefined();
    await waitUntil("the node's upload to end", () => server1.streams() === 0, 5000);
  });

  test("backpressure: a node faster than its client is held back; then everything arrives", async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 200 * 1024 * 1024; // far more than socket buffers, the 4 MiB API limit, Bun's 128 MiB
    let produced = 0;
    openLog = () =>
      (async function* () {
        const chunk = new Uint8Array(CHUNK).fill(0x61);
        while (produced < TOTAL) {
          produced += CHUNK;
          yield chunk;
        }
      })();
    const res = await getLogs("node=edge1");
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    let received = (await reader.read()).value?.length ?? 0;
    // Wait until the node stops producing: socket buffers are full and nothing is read.
    let last = -1;
    while (produced !== last) {
      last = produced;
      await Bun.sleep(200);
    }
    expect(produced).toBeLessThan(64 * 1024 * 1024);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      received += next.value.length;
    }
    expect(received).toBe(TOTAL);
    await waitUntil("the upload to end", () => server1.streams() === 0, 5000);
  });
});
