// The client side's parser: heads out of a read buffer fed in arbitrary pieces, why it waits
// (idle, a head started, a head continued: the connection's timeouts follow from it), the body
// decoder reset per head, and malformed heads refused.
import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMITS, HttpParseError } from "../../../src/mesh/proxy/http-parser.ts";
import { RequestReader, Waiting } from "../../../src/mesh/proxy/request-reader.ts";

const b = (text: string) => Buffer.from(text, "latin1");

describe("RequestReader", () => {
  test("nothing buffered: idle; a head split in pieces: started, then continued, then read", () => {
    const reader = new RequestReader(DEFAULT_LIMITS);
    expect(reader.next()).toBeNull();
    expect(reader.waiting).toBe(Waiting.Idle);
    reader.buffer.append(b("GET /a HT"));
    expect(reader.next()).toBeNull();
    expect(reader.waiting).toBe(Waiting.HeadStarted);
    reader.buffer.append(b("TP/1.1\r\nHost: x\r\n"));
    expect(reader.next()).toBeNull();
    expect(reader.waiting).toBe(Waiting.HeadContinued);
    reader.buffer.append(b("\r\n"));
    const head = reader.next();
    expect(head?.method).toBe("GET");
    expect(head?.path).toBe("/a");
    expect(reader.next()).toBeNull();
    expect(reader.waiting).toBe(Waiting.Idle);
  });

  test("pipelined requests come out one at a time; the body stays in the buffer for the decoder", () => {
    const reader = new RequestReader(DEFAULT_LIMITS);
    reader.buffer.append(
      b("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /g HTTP/1.1\r\nHost: x\r\n\r\n"),
    );
    const post = reader.next();
    expect(post?.method).toBe("POST");
    const rb = reader.buffer;
    const end = reader.body.feed(rb.buf, rb.start, rb.end);
    expect(rb.buf.subarray(rb.start, end).toString()).toBe("hello");
    expect(reader.body.done).toBe(true);
    rb.start = end;
    const get = reader.next();
    expect(get?.method).toBe("GET");
    expect(reader.body.done).toBe(true); // no body: the decoder is reset to done
  });

  test("CRLFs between requests are skipped (RFC 9112 §2.2)", () => {
    const reader = new RequestReader(DEFAULT_LIMITS);
    reader.buffer.append(b("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(reader.next()?.path).toBe("/");
  });

  test("a malformed head throws the status to answer; an oversized one 431", () => {
    const bad = new RequestReader(DEFAULT_LIMITS);
    bad.buffer.append(b("GET / HTTP/1.1\r\nHost : x\r\n\r\n"));
    expect(() => bad.next()).toThrow(HttpParseError);
    const big = new RequestReader({ ...DEFAULT_LIMITS, maxHeadBytes: 64 });
    big.buffer.append(b(`GET / HTTP/1.1\r\nX-Long: ${"a".repeat(100)}`));
    try {
      big.next();
      throw new Error("not refused");
    } catch (error) {
      expect((error as HttpParseError).status).toBe(431);
    }
  });
});
