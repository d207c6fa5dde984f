// Property tests of the parser: chunking never changes the result, garbage only ever yields a parse
// error, framing obfuscations are decided like an independent RFC 9112 oracle (so a request is never
// read as two), and what the proxy forwards re-parses to exactly what it parsed.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { forwardRequestHead } from "../../../src/mesh/proxy/http-head-writer.ts";
import { type ParsedRequest, parseStream, splitAt } from "./parse-stream.ts";
import { FRAMING_LINES, oracle } from "./smuggling-oracle.ts";

const enc = (s: string) => Buffer.from(s, "latin1");
// LEVEE_FUZZ_RUNS (the fuzz suite's long profile) or PROPERTY_RUNS sets how many cases each property runs.
const RUNS = Number(process.env.LEVEE_FUZZ_RUNS ?? process.env.PROPERTY_RUNS ?? 300);

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const fieldValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
  "upgrade",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "te",
  "keep-alive",
  "proxy-connection",
]);
const field = fc.tuple(token, fieldValue).filter(([n]) => !RESERVED.has(n.toLowerCase()));
const path = fc.stringMatching(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,30}$/);
const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "X-CUSTOM");

function chunkEncode(body: Uint8Array, cuts: number[], ext: string, trailers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const piece of splitAt(body, cuts))
    if (piece.byteLength > 0)
      parts.push(enc(`${piece.byteLength.toString(16)}${ext}\r\n`), Buffer.from(piece), enc("\r\n"));
  parts.push(enc(`0\r\n${trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`));
  return Buffer.concat(parts);
}

interface GenRequest {
  wire: Buffer;
  method: string;
  target: string;
  /** The body bytes as they travel (chunked stays chunked). */
  body: Buffer;
}

const request: fc.Arbitrary<GenRequest> = fc
  .record({
    method,
    target: path,
    fields: fc.array(field, { maxLength: 6 }),
    framing: fc.constantFrom("none", "length", "chunked"),
    payload: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    cuts: fc.array(fc.nat(), { maxLength: 5 }),
    ext: fc.constantFrom("", ";a", ";a=b", ';a="q s"', " ;x", ";x;y=1"),
    trailers: fc.array(field, { maxLength: 2 }),
  })
  .map((r) => {
    let framingLine = "";
    let body: Buffer = Buffer.alloc(0);
    if (r.framing === "length") {
      framingLine = `Content-Length: ${r.payload.byteLength}\r\n`;
      body = Buffer.from(r.payload);
    } else if (r.framing === "chunked") {
      framingLine = "Transfer-Encoding: chunked\r\n";
      body = chunkEncode(r.payload, r.cuts, r.ext, r.trailers);
    }
    const head = `${r.method} ${r.target} HTTP/1.1\r\nHost: example\r\n${r.fields.map(([n, v]) => `${n}: ${v}\r\n`).join("")}${framingLine}\r\n`;
    return { wire: Buffer.concat([enc(head), body]), method: r.method, target: r.target, body };
  });

const summary = (requests: ParsedRequest[]) =>
  requests.map((r) => [r.method, r.target, r.body.toString("hex")]);

describe("parser properties", () => {
  test("any split of valid pipelined requests parses the same as the whole", () => {
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (reqs, cuts) => {
          const wire = Buffer.concat(reqs.map((r) => r.wire));
          const whole = parseStream([wire]);
          const split = parseStream(splitAt(wire, cuts));
          expect(whole.error).toBeUndefined();
          expect(summary(whole.requests)).toEqual(
            reqs.map((r) => [r.method, r.target, r.body.toString("hex")]),
          );
          expect(summary(split.requests)).toEqual(summary(whole.requests));
          expect(split.error).toBeUndefined();
          expect(split.leftover).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("random bytes never throw anything but a parse error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 8 }), (junk, cuts) => {
        const r = parseStream(splitAt(junk, cuts));
        if (r.error) expect([400, 417, 431, 501, 505]).toContain(r.error.status);
      }),
      { numRuns: RUNS },
    );
  });

  test("mutated valid requests: a parse error or requests that re-forward identically, never a throw", () => {
    const dangerous = fc.constantFrom(13, 10, 32, 9, 58, 44, 48, 53, 97, 0, 0x80, 0x3b, 0x2d);
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), dangerous, fc.boolean()), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (reqs, mutations, cuts) => {
          const bytes = [...Buffer.concat(reqs.map((r) => r.wire))];
          for (const [at, byte, insert] of mutations) {
            const i = at % (bytes.length + 1);
            if (insert) bytes.splice(i, 0, byte);
            else bytes[Math.min(i, bytes.length - 1)] = byte;
          }
          const wire = Buffer.from(bytes);
          const r = parseStream(splitAt(wire, cuts));
          expectReforwardsIdentically(r.requests);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** The proxy's forwarded bytes (canonical framing) parse to the same requests. */
function expectReforwardsIdentically(requests: ParsedRequest[]): void {
  if (requests.length === 0) return;
  const forwarded = Buffer.concat(
    requests.map((r) =>
      Buffer.concat([
        forwardRequestHead(r.head, { clientAddress: "10.0.0.1", proto: "http", upgrade: false }),
        r.body,
      ]),
    ),
  );
  const again = parseStream([forwarded]);
  expect(again.error).toBeUndefined();
  expect(again.requests.map((r) => [r.method, r.head.path, r.body.toString("hex")])).toEqual(
    requests.map((r) => [r.method, r.head.path, r.body.toString("hex")]),
  );
}

const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

describe("smuggling", () => {
  test("framing obfuscations: error exactly when the oracle says so; otherwise one request and its body", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...FRAMING_LINES), { minLength: 1, maxLength: 3 }),
        fc.string({ maxLength: 40 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (templates, filler, chunkedBody, cuts) => {
          const payload = Buffer.from(`${filler.replace(/[^\x20-\x7e]/g, "")}${SMUGGLED}`, "latin1");
          const lines = templates.map((t) => t.replaceAll("N", String(payload.length)));
          const expected = oracle(lines);
          const body =
            expected.error === false && expected.kind === "chunked"
              ? chunkEncode(payload, [7], "", [])
              : expected.error === false && expected.kind === "none"
                ? Buffer.alloc(0)
                : expected.error && chunkedBody
                  ? chunkEncode(payload, [], "", [])
                  : payload;
          const wire = Buffer.concat([
            enc(`POST /first HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`),
            body,
            enc("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"),
          ]);
          const r = parseStream(splitAt(wire, cuts));
          if (expected.error) {
            expect(r.error?.status === 400 || r.error?.status === 501).toBe(true);
            expect(r.requests).toEqual([]);
            return;
          }
          expect(r.error).toBeUndefined();
          expect(r.requests.map((q) => q.target)).toEqual(["/first", "/next"]);
          expect(r.requests[0]?.body.equals(body)).toBe(true);
          expectReforwardsIdentically(r.requests);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  test("the classic cases", () => {
    const cases: [string, string][] = [
      ["CL.TE", "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED"],
      ["TE.CL", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"],
      ["TE.TE xchunked", "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"],
      ["TE.TE duplicated", "Transfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n\r\n0\r\n\r\n"],
      ["TE.TE space before colon", "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"],
      ["TE.TE obs-fold", "X: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
      ["TE.TE bare LF", "X: a\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
      ["CL.CL", "Content-Length: 8\r\nContent-Length: 7\r\n\r\nSMUGGLED"],
      ["chunk size with 0x", "Transfer-Encoding: chunked\r\n\r\n0x8\r\nSMUGGLED\r\n0\r\n\r\n"],
      ["chunk LF only", "Transfer-Encoding: chunked\r\n\r\n8\nSMUGGLED\r\n0\r\n\r\n"],
    ];
    for (const [name, rest] of cases) {
      const r = parseStream([
        enc(`POST / HTTP/1.1\r\nHost: x\r\n${rest}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`),
      ]);
      expect([name, r.error?.status]).toEqual([name, 400]);
      expect(r.requests.some((q) => q.target === "/smuggled")).toBe(false);
    }
  });
});
