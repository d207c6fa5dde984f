// The upstream side's parser: what it tells the exchange for interim heads, a 101, a final head with
// the body bytes that came with it, more body and the end; where a response ends (length, chunked,
// HEAD, at close); and whether the connection may carry another request afterwards.
import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMITS } from "../../../src/mesh/proxy/http-parser.ts";
import type { ResponseHead } from "../../../src/mesh/proxy/http-response-parser.ts";
import { type ResponseHandler, ResponseReader } from "../../../src/mesh/proxy/response-reader.ts";

const b = (text: string) => Buffer.from(text, "latin1");

/** A handler that writes down what it is told. */
function recorder(): ResponseHandler & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    responseInterim: (bytes) => events.push(`interim ${bytes.toString("latin1").split("\r\n")[0]}`),
    responseSwitch: (head: ResponseHead, _bytes, after) =>
      events.push(`switch ${head.status} after=${after.toString("latin1")}`),
    responseHead: (head, reader, closeDelimited) => {
      const { buf } = reader.buffer;
      const body = buf.subarray(reader.headEnd, reader.bodyEnd).toString("latin1");
      events.push(`head ${head.status} body=${body}${closeDelimited ? " close-delimited" : ""}`);
    },
    responseBody: (chunk) => events.push(`body ${chunk.toString("latin1")}`),
    responseComplete: () => events.push("complete"),
    responseError: (message) => events.push(`error ${message}`),
  };
}

function feed(reader: ResponseReader, handler: ResponseHandler, ...chunks: string[]): void {
  for (const chunk of chunks) reader.feed(b(chunk), handler, DEFAULT_LIMITS);
}

describe("ResponseReader", () => {
  test("interim heads, then the final head with its body in pieces; reusable after", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("GET");
    feed(
      reader,
      h,
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n",
    );
    feed(reader, h, "Content-Length: 6\r\n\r\nab", "cd", "ef");
    expect(h.events).toEqual([
      "interim HTTP/1.1 100 Continue",
      "interim HTTP/1.1 103 Early Hints",
      "head 200 body=ab",
      "body cd",
      "body ef",
      "complete",
    ]);
    expect(reader.reusable).toBe(true);
  });

  test("chunked body ends at its last chunk; bytes after it make the connection unusable", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("GET");
    feed(reader, h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nXYZ");
    expect(h.events).toEqual(["head 200 body=3\r\nabc\r\n0\r\n\r\n", "complete"]);
    expect(reader.reusable).toBe(false);
  });

  test("a response to HEAD has no body whatever its Content-Length", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("HEAD");
    feed(reader, h, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    expect(h.events).toEqual(["head 200 body=", "complete"]);
    expect(reader.reusable).toBe(true);
  });

  test("a body delimited by the close ends there, and the connection cannot be reused", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("GET");
    feed(reader, h, "HTTP/1.1 200 OK\r\n\r\nsome", " more");
    expect(reader.reusable).toBe(false);
    expect(reader.endsAtClose()).toBe(true);
    expect(h.events).toEqual(["head 200 body=some close-delimited", "body  more"]);
    expect(reader.endsAtClose()).toBe(false); // complete already
  });

  test("a close before the head, or in a length-delimited body, does not end the response", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("GET");
    expect(reader.endsAtClose()).toBe(false);
    feed(reader, h, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
    expect(reader.endsAtClose()).toBe(false);
  });

  test("101: the head and the bytes after it go to the handler; nothing is parsed after it", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("GET");
    feed(
      reader,
      h,
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x00",
    );
    expect(h.events).toEqual(["switch 101 after=\x81\x00"]);
  });

  test("keep-alive refused by the upstream, and a malformed head, are reported", () => {
    const closing = new ResponseReader();
    const h = recorder();
    closing.begin("GET");
    feed(closing, h, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    expect(h.events).toEqual(["head 204 body=", "complete"]);
    expect(closing.reusable).toBe(false);
    const bad = new ResponseReader();
    const e = recorder();
    bad.begin("GET");
    feed(bad, e, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    expect(e.events.length).toBe(1);
    expect(e.events[0]).toStartWith("error malformed response:");
  });

  test("begin() starts the next response afresh on the same connection", () => {
    const reader = new ResponseReader();
    const h = recorder();
    reader.begin("GET");
    feed(reader, h, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
    reader.begin("GET");
    feed(reader, h, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    expect(h.events).toEqual(["head 200 body=a", "complete", "head 404 body=", "complete"]);
  });
});
