// The strict HTTP/1.1 head parser and body framing: what is accepted, what is refused with which status.
import { describe, expect, test } from "bun:test";
import { BodyReader } from "../../../src/mesh/proxy/http-body.ts";
import { findHeadEnd, HttpParseError } from "../../../src/mesh/proxy/http-parser.ts";
import { parseResponseHead, responseFraming } from "../../../src/mesh/proxy/http-response-parser.ts";
import { bytes, parseStream } from "./parse-stream.ts";

const one = (text: string) => {
  const r = parseStream([bytes(text)]);
  if (r.error) throw new HttpParseError(r.error.status, r.error.message);
  expect(r.requests.length).toBe(1);
  return r.requests[0] as NonNullable<(typeof r.requests)[0]>;
};
const status = (text: string) => parseStream([bytes(text)]).error?.status;

describe("request line and fields", () => {
  test("origin-form GET with fields", () => {
    const r = one("GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nX-Thing:  spaced value \t\r\n\r\n");
    expect(r.head.method).toBe("GET");
    expect(r.head.form).toBe("origin");
    expect(r.head.path).toBe("/a/b?c=d");
    expect(r.head.authority).toBe("example.com:8080");
    expect(r.head.get("x-thing")).toBe("spaced value");
    expect(r.head.keepAlive).toBe(true);
    expect(r.head.body).toEqual({ kind: "none" });
  });

  test("absolute-form takes its authority from the target, and asterisk-form is for OPTIONS", () => {
    const r = one("GET http://edge3:8080/x?y HTTP/1.1\r\nHost: ignored\r\n\r\n");
    expect([r.head.form, r.head.authority, r.head.path]).toEqual(["absolute", "edge3:8080", "/x?y"]);
    const q = one("GET HTTP://web.edge1.levee?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect([q.head.authority, q.head.path]).toEqual(["web.edge1.levee", "/?q=1"]);
    expect(one("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").head.form).toBe("asterisk");
    expect(status("GET * HTTP/1.1\r\nHost: x\r\n\r\n")).toBe(400);
  });

  test("CONNECT needs authority-form host:port", () => {
    const r = one("CONNECT edge3:443 HTTP/1.1\r\nHost: edge3:443\r\n\r\n");
    expect([r.head.form, r.head.authority]).toEqual(["authority", "edge3:443"]);
    expect(one("CONNECT [::1]:22 HTTP/1.1\r\nHost: x\r\n\r\n").head.authority).toBe("[::1]:22");
    for (const t of ["edge3", "edge3:", "edge3:99999", "/x", "http://edge3:80/"])
      expect(status(`CONNECT ${t} HTTP/1.1\r\nHost: x\r\n\r\n`)).toBe(400);
    expect(status("CONNECT a:1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")).toBe(400);
  });

  test("HTTP/1.0: keep-alive only when asked, no Host needed; other versions 505", () => {
    expect(one("GET / HTTP/1.0\r\n\r\n").head.keepAlive).toBe(false);
    expect(one("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keepAlive).toBe(true);
    expect(one("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").head.keepAlive).toBe(false);
    expect(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n")).toBe(505);
    expect(status("GET / HTTP/1.2\r\nHost: x\r\n\r\n")).toBe(505);
    expect(status("GET / http/1.1\r\nHost: x\r\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1 \r\nHost: x\r\n\r\n")).toBe(400);
  });

  test("empty lines before a request line are skipped", () => {
    const r = parseStream([bytes("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")]);
    expect(r.requests.map((q) => q.target)).toEqual(["/"]);
  });

  test("malformed request lines are 400", () => {
    for (const line of [
      "GET  / HTTP/1.1",
      "GET /a b HTTP/1.1",
      "G(T / HTTP/1.1",
      " GET / HTTP/1.1",
      "GET /\x01 HTTP/1.1",
      "GET /é HTTP/1.1",
      "GET /#frag HTTP/1.1",
      "GET",
      "GET http://user@host/ HTTP/1.1",
      "GET ftp://host/ HTTP/1.1",
      "GET http:///x HTTP/1.1",
    ])
      expect([line, status(`${line}\r\nHost: x\r\n\r\n`)]).toEqual([line, 400]);
  });

  test("field syntax: obs-fold, whitespace before colon, bad names, controls in values → 400", () => {
    const bad = [
      "X-A: 1\r\n folded",
      "X-A: 1\r\n\tfolded",
      "Host : x",
      "X-A\t: 1",
      "X A: 1",
      "X-A(: 1",
      ": empty",
      "X-A: nul\x00here",
      "X-A: bell\x07",
      "X-A: del\x7f",
      "X-A: cr\rhere",
      "no colon",
    ];
    for (const field of bad)
      expect([field, status(`GET / HTTP/1.1\r\nHost: x\r\n${field}\r\n\r\n`)]).toEqual([field, 400]);
    expect(one("GET / HTTP/1.1\r\nHost: x\r\nX-Obs: caf\xe9\r\n\r\n").head.get("x-obs")).toBe("caf\xe9");
  });

  test("line ends: a bare LF anywhere in the head is refused", () => {
    expect(status("GET / HTTP/1.1\nHost: x\r\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: x\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: x\n\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n")).toBe(400);
  });

  test("Host: required once in HTTP/1.1, and well-formed", () => {
    expect(status("GET / HTTP/1.1\r\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n")).toBe(400);
    expect(one("GET / HTTP/1.1\r\nHost:\r\n\r\n").head.authority).toBe("");
  });

  test("limits: more than 100 fields or more than 64 KiB of head → 431", () => {
    const fields = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join("");
    expect(status(`GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`)).toBe(431);
    expect(status(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`)).toBe(431);
    // also while the head is still incomplete
    expect(parseStream([bytes(`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(70_000)}`)]).error?.status).toBe(431);
    expect(
      parseStream([bytes(`GET / HTTP/1.1\r\nHost: x\r\nX-Ok: ${"a".repeat(60_000)}\r\n\r\n`)]).error,
    ).toBe(undefined);
  });

  test("Expect: 100-continue is noted; other expectations are 417", () => {
    expect(
      one("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\na").head
        .expectContinue,
    ).toBe(true);
    expect(status("GET / HTTP/1.1\r\nHost: x\r\nExpect: coffee\r\n\r\n")).toBe(417);
  });

  test("upgrade only with Connection: upgrade in HTTP/1.1", () => {
    const ws = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n";
    expect(one(ws).head.upgrade).toBe("websocket");
    expect(one("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n").head.upgrade).toBe(null);
    expect(status("GET / HTTP/1.1\r\nHost: x\r\nConnection: a b\r\n\r\n")).toBe(400);
  });
});

describe("request body framing (RFC 9112 §6)", () => {
  test("Content-Length bodies, pipelined", () => {
    const r = parseStream([
      bytes(
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
      ),
    ]);
    expect(r.requests.map((q) => [q.target, q.body.toString()])).toEqual([
      ["/a", "hello"],
      ["/b", ""],
    ]);
  });

  test("GET with a body is a body", () => {
    const r = one('GET /q HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{"a":[1,2,3]}');
    expect(r.body.toString()).toBe('{"a":[1,2,3]}');
  });

  test("invalid or repeated Content-Length → 400", () => {
    for (const cl of ["+5", "-1", "5.0", "0x5", "5, 5", "5,6", "", "1 2", "9999999999999999"])
      expect([cl, status(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${cl}\r\n\r\nhello`)]).toEqual([
        cl,
        400,
      ]);
    expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")).toBe(
      400,
    );
    expect(status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")).toBe(
      400,
    );
    expect(one("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 \r\n\r\nhello").body.toString()).toBe(
      "hello",
    );
  });

  test("Transfer-Encoding: only a lone chunked; never with Content-Length; never in HTTP/1.0", () => {
    const chunked = "5\r\nhello\r\n0\r\n\r\n";
    const te = (v: string) =>
      status(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${v}\r\n\r\n${chunked}`);
    expect(te("chunked")).toBe(undefined);
    expect(te("Chunked")).toBe(undefined);
    for (const v of [
      "xchunked",
      "chunkedx",
      "chunked, chunked",
      "chunked, identity",
      "identity",
      ",chunked",
      "chunked;q=1",
      '"chunked"',
    ])
      expect([v, te(v)]).toEqual([v, 400]);
    expect(te("gzip, chunked")).toBe(501);
    expect(
      status(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
      ),
    ).toBe(400);
    expect(
      status(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${chunked}`,
      ),
    ).toBe(400);
    expect(
      status(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
      ),
    ).toBe(400);
    expect(status(`POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`)).toBe(400);
  });
});

const chunkedBody = (body: string) => {
  const reader = new BodyReader();
  reader.reset({ kind: "chunked" }, 400);
  const buf = bytes(body);
  try {
    return { end: reader.feed(buf, 0, buf.length) };
  } catch (error) {
    return { error: (error as HttpParseError).message };
  }
};

describe("chunked decoder", () => {
  test("finds the exact end, with extensions and trailers", () => {
    const body = "5;name=value;x\r\nhello\r\nA\r\n0123456789\r\n000\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n";
    expect(chunkedBody(`${body}GET /next`).end).toBe(body.length);
    expect(chunkedBody("0\r\n\r\n").end).toBe(5);
    expect(chunkedBody("4 ;ext\r\nabcd\r\n0\r\n\r\n").end).toBe(19);
    expect(chunkedBody("5\r\nhel").end).toBe(-1);
  });

  test("malformed sizes and delimiters are refused", () => {
    for (const body of [
      "0x5\r\nhello\r\n0\r\n\r\n",
      "-5\r\nhello\r\n0\r\n\r\n",
      "+5\r\nhello\r\n0\r\n\r\n",
      "5 \r\nhello\r\n0\r\n\r\n",
      " 5\r\nhello\r\n0\r\n\r\n",
      "\r\nhello\r\n0\r\n\r\n",
      "g\r\n",
      "5\nhello\r\n0\r\n\r\n",
      "5\r\nhelloX\r\n0\r\n\r\n",
      "5\r\nhello\n0\r\n\r\n",
      "5\r\nhello\r\n0\r\n\n",
      "0\r\n folded: x\r\n\r\n",
      "0\r\nBad Name: x\r\n\r\n",
      "5;\x00\r\nhello\r\n0\r\n\r\n",
      `${"f".repeat(20)}\r\n`,
      "fffffffffffffff\r\n",
    ])
      expect([body, chunkedBody(body).error !== undefined]).toEqual([body, true]);
  });

  test("any split of a chunked body ends at the same byte", () => {
    const body = bytes("3\r\nabc\r\n10;e=1\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\nNEXT");
    for (let cut = 0; cut <= body.length; cut++) {
      const reader = new BodyReader();
      reader.reset({ kind: "chunked" }, 400);
      const first = reader.feed(body, 0, cut);
      const end = first >= 0 ? first : reader.feed(body, cut, body.length);
      expect(end).toBe(body.length - 4);
    }
  });
});

const response = (text: string, method = "GET") => {
  const buf = bytes(text);
  const end = findHeadEnd(buf, 0, buf.length, { maxHeadBytes: 65536, maxHeaders: 100 }, 0, 502);
  const head = parseResponseHead(buf, 0, end);
  return { head, framing: responseFraming(head, method) };
};
const responseError = (text: string, method = "GET") => {
  try {
    response(text, method);
    return undefined;
  } catch (error) {
    return (error as HttpParseError).status;
  }
};

describe("responses", () => {
  test("status line and framing per RFC 9112 §6.3", () => {
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n").framing).toEqual({
      kind: "length",
      length: 3,
    });
    expect(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").framing).toEqual({
      kind: "chunked",
    });
    expect(response("HTTP/1.1 200 OK\r\n\r\n").framing).toEqual({ kind: "close" });
    expect(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").framing).toEqual({ kind: "close" });
    expect(response("HTTP/1.1 204 No Content\r\n\r\n").framing.kind).toBe("none");
    expect(response("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").framing.kind).toBe("none");
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD").framing.kind).toBe("none");
    expect(response("HTTP/1.1 100 Continue\r\n\r\n").framing.kind).toBe("none");
    expect(response("HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT").framing.kind).toBe("none");
    expect(response("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head.status).toBe(200);
    expect(response("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").head.keepAlive).toBe(false);
    expect(response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n").head.keepAlive).toBe(
      false,
    );
  });

  test("ambiguous or malformed responses are 502", () => {
    expect(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")).toBe(
      502,
    );
    expect(responseError("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/1.1 20 OK\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/1.1 600 OK\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/2 200 OK\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/1.1 200 OK\r\nX : y\r\n\r\n")).toBe(502);
    expect(responseError("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n")).toBe(502);
  });
});
