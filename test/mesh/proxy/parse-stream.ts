// Test driver for the pure parser: reads a stream of pipelined requests fed in arbitrary chunks, the
// way the proxy's connection does (read buffer, head end, head, body reader), and returns what it saw.
import { BodyReader } from "../../../src/mesh/proxy/http-body.ts";
import {
  DEFAULT_LIMITS,
  findHeadEnd,
  type HeadLimits,
  HttpParseError,
  parseRequestHead,
  type RequestHead,
  skipLeadingCrlf,
} from "../../../src/mesh/proxy/http-parser.ts";
import { ReadBuffer } from "../../../src/mesh/proxy/read-buffer.ts";

export interface ParsedRequest {
  head: RequestHead;
  method: string;
  target: string;
  /** The body bytes exactly as they would be forwarded (chunked stays chunked). */
  body: Buffer;
}

export interface StreamResult {
  requests: ParsedRequest[];
  error?: { status: number; message: string };
  /** Bytes left that do not make a complete request yet. */
  leftover: number;
}

export function parseStream(chunks: Uint8Array[], limits: HeadLimits = DEFAULT_LIMITS): StreamResult {
  const rb = new ReadBuffer();
  const reader = new BodyReader();
  const requests: ParsedRequest[] = [];
  let current: { head: RequestHead; body: Buffer[] } | null = null;
  let scanned = 0;
  try {
    for (const chunk of chunks) {
      rb.append(chunk);
      for (;;) {
        if (current !== null) {
          const end = reader.feed(rb.buf, rb.start, rb.end);
          const stop = end < 0 ? rb.end : end;
          current.body.push(Buffer.from(rb.buf.subarray(rb.start, stop)));
          rb.start = stop;
          if (end < 0) break;
          requests.push({
            head: current.head,
            method: current.head.method,
            target: current.head.target,
            body: Buffer.concat(current.body),
          });
          current = null;
        }
        if (scanned === 0) rb.start = skipLeadingCrlf(rb.buf, rb.start, rb.end);
        if (rb.length === 0) {
          scanned = 0;
          break;
        }
        const headEnd = findHeadEnd(rb.buf, rb.start, rb.end, limits, rb.start + scanned);
        if (headEnd < 0) {
          scanned = rb.length;
          break;
        }
        scanned = 0;
        const head = parseRequestHead(rb.buf, rb.start, headEnd, limits);
        rb.start = headEnd;
        reader.reset(head.body, 400);
        current = { head, body: [] };
      }
    }
  } catch (error) {
    if (!(error instanceof HttpParseError)) throw error;
    return { requests, error: { status: error.status, message: error.message }, leftover: rb.length };
  }
  return { requests, leftover: rb.length + (current === null ? 0 : 1) };
}

/** Splits bytes at the given cut points (any numbers; taken modulo the length, sorted, unique). */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  if (bytes.byteLength === 0) return [bytes];
  const points = [...new Set(cuts.map((c) => Math.abs(c) % bytes.byteLength))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) out.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  out.push(bytes.subarray(last));
  return out;
}

export const bytes = (s: string) => Buffer.from(s, "latin1");
