// What an edge reads from "the cloud" is bounded: a server that answers the join or a certificate
// request with an endless body or JSON nested 100,000 deep gets an error naming the limit, and the
// edge stops reading at 1 MiB instead of buffering everything it is sent.
import { afterAll, describe, expect, test } from "bun:test";
import { CloudUnreachable, joinCloud } from "../../src/edge/join.ts";
import { requestMeshTls } from "../../src/mesh/transport/mesh-credentials.ts";
import { MAX_ANSWER_BYTES, readJsonAnswer, readTextWithin } from "../../src/runtime/bounded-read.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const DEEP = `${'{"node":'.repeat(100_000)}1${"}".repeat(100_000)}`;

/** Bytes an endless answer has produced (the hostile server counts what the edge pulled). */
let pulled = 0;
function endless(): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(`{"pad":"${"x".repeat(64 * 1024)}`);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.length;
      if (pulled > 256 * MAX_ANSWER_BYTES) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

/** What the server answers a join (joinCloud sends no header to choose by). */
let joinAnswer = "endless";
const hostile = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) => {
    const kind = req.headers.get("x-answer") ?? joinAnswer;
    if (kind === "deep") return new Response(DEEP, { headers: { "content-type": "application/json" } });
    return new Response(endless(), { headers: { "content-type": "application/json" } });
  },
});
const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
afterAll(() => {
  hostile.stop(true);
  store.close();
});

const join = (answer: string) => {
  joinAnswer = answer;
  return joinCloud({
    store,
    cloudUrl: `http://127.0.0.1:${hostile.port}`,
    nodeName: "edge1",
    token: "lvjoin_x",
    addresses: [],
    agentVersion: "test",
  });
};

describe("the join answer", () => {
  test("an endless answer: refused at 1 MiB, not read to its end", async () => {
    pulled = 0;
    const joined = join("endless");
    await expect(joined).rejects.toThrow(CloudUnreachable);
    await expect(joined).rejects.toThrow(`the cloud's join answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    expect(pulled).toBeLessThan(16 * MAX_ANSWER_BYTES);
  });

  test("an answer nested 100,000 deep: refused naming the limit", async () => {
    await expect(join("deep")).rejects.toThrow(
      "the cloud's join answer nests deeper than 64 levels (at line 1, column 513)",
    );
  });
});

describe("the certificate answer", () => {
  const request = (answer: string) =>
    requestMeshTls({
      cloudUrl: `http://127.0.0.1:${hostile.port}`,
      node: "edge1",
      username: "edge1",
      password: "p",
      fetch: ((url: string | URL | Request, init?: RequestInit) =>
        fetch(url, { ...init, headers: { ...init?.headers, "x-answer": answer } })) as typeof fetch,
    });

  test("endless or too deep: an error naming the limit", async () => {
    pulled = 0;
    await expect(request("endless")).rejects.toThrow(
      `no ca or certificate (the cloud's certificate answer is larger than ${MAX_ANSWER_BYTES} bytes)`,
    );
    expect(pulled).toBeLessThan(16 * MAX_ANSWER_BYTES);
    await expect(request("deep")).rejects.toThrow(
      "no ca or certificate (the cloud's certificate answer nests deeper than 64 levels (at line 1, column 513))",
    );
  });
});

describe("readTextWithin and readJsonAnswer", () => {
  test("a Content-Length over the bound is refused without reading", async () => {
    const res = new Response("x".repeat(100), { headers: { "content-length": "100" } });
    expect(await readTextWithin(res, "the answer", 99)).toEqual({
      ok: false,
      reason: "the answer is larger than 99 bytes",
    });
    expect(await readTextWithin(new Response("ééé"), "the answer", 6)).toEqual({ ok: true, text: "ééé" });
    expect(await readTextWithin(new Response("ééé"), "the answer", 5)).toMatchObject({ ok: false });
  });

  test("an answer that is not a JSON object names why", async () => {
    expect(await readJsonAnswer(new Response("[1]"), "the answer")).toEqual({
      error: "the answer is not a JSON object",
    });
    expect(await readJsonAnswer(new Response(DEEP), "the answer")).toEqual({
      error: "the answer nests deeper than 64 levels (at line 1, column 513)",
    });
    expect(await readJsonAnswer(new Response('{"ok":1}'), "the answer")).toEqual({ ok: 1 });
  });
});
