// A strict HTTP/1.1 head parser for the mesh proxy (pure: bytes in, a parsed head or an HttpParseError
// out; fields in http-fields.ts, responses in http-response-parser.ts, body readers in http-body.ts).
// Hand-written rather than Bun.serve because the proxy needs what a server framework does not give: a
// streaming data path with explicit back-pressure, a decision per request on a keep-alive connection,
// bodies passed on byte-exact (GET with a body, chunked kept chunked) and one parser that alone
// decides where a request ends, so that a request can never be read as two (request smuggling).
//
// RFC 9112: request line (method token, request-target in origin-, absolute-, authority- (CONNECT) or
// asterisk-form (OPTIONS), HTTP/1.0 or HTTP/1.1); field syntax (no obs-fold, no whitespace before the
// colon, token names, no CR/LF/NUL/CTL in values); lines end in CRLF only (a bare LF or CR is an error);
// limits (head bytes, number of fields → 431). Body framing per §6.3: Transfer-Encoding with chunked
// final; Transfer-Encoding together with Content-Length, Transfer-Encoding in HTTP/1.0, several or
// invalid Content-Length → 400; codings other than a lone chunked in a request → 501 or 400.
// The proxy re-emits the framing fields canonically, so the upstream sees exactly what was parsed here.
// Heads keep byte offsets into the received buffer; strings are decoded only when asked for.
import {
  F_CONNECTION,
  F_CONTENT_LENGTH,
  F_EXPECT,
  F_HOST,
  F_TRANSFER_ENCODING,
  F_UPGRADE,
  Fields,
  type HeaderField,
  HttpParseError,
  isToken,
  nameEquals,
  parseFields,
  STRIDE,
  TCHAR,
} from "./http-fields.ts";

export { type HeaderField, HttpParseError, isToken, TCHAR, VALUE_CHAR } from "./http-fields.ts";

export interface HeadLimits {
  /** Largest head (start line + fields + blank line), bytes. */
  maxHeadBytes: number;
  maxHeaders: number;
}
export const DEFAULT_LIMITS: HeadLimits = { maxHeadBytes: 64 * 1024, maxHeaders: 100 };

/** How a message body is delimited. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  /** Response only: the body runs until the upstream closes. */
  | { kind: "close" };

export const NO_BODY: Framing = Object.freeze({ kind: "none" });
export const CHUNKED: Framing = Object.freeze({ kind: "chunked" });
export const CLOSE_DELIMITED: Framing = Object.freeze({ kind: "close" });
const NONE: string[] = [];

const CR = 13;
const LF = 10;
const SP = 32;

/** What a request-target may contain: visible ASCII except "#" (no fragments on the wire). */
const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET_CHAR[c] = 1;
TARGET_CHAR["#".charCodeAt(0)] = 0;
/** What a Host value or an authority may contain (reg-name, IPv6 literal, port; no userinfo). */
const HOST_CHAR = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=:[]%") HOST_CHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) HOST_CHAR[c] = 1;
for (let c = 65; c <= 90; c++) HOST_CHAR[c] = 1;
for (let c = 97; c <= 122; c++) HOST_CHAR[c] = 1;

function isHost(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (HOST_CHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Skips empty lines before a request line (RFC 9112 §2.2); returns the new start. */
export function skipLeadingCrlf(buf: Uint8Array, start: number, end: number): number {
  while (start + 1 < end && buf[start] === CR && buf[start + 1] === LF) start += 2;
  return start;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/**
 * The end of the head in buf[start, end) (the index after its CRLFCRLF), or -1 when more bytes are
 * needed. `scanFrom` (≥ start) skips what an earlier call already scanned. Throws when the head is
 * larger than the limit (431, or `tooLargeStatus`), and on a bare LF in an incomplete head (a
 * complete head is checked byte by byte by the parser).
 */
export function findHeadEnd(
  buf: Buffer,
  start: number,
  end: number,
  limits: HeadLimits,
  scanFrom = start,
  tooLargeStatus = 431,
): number {
  const found = buf.indexOf(CRLFCRLF, Math.max(start, scanFrom - 3));
  if (found >= 0 && found + 4 <= end) {
    if (found + 4 - start > limits.maxHeadBytes)
      throw new HttpParseError(tooLargeStatus, `head larger than ${limits.maxHeadBytes} bytes`);
    return found + 4;
  }
  if (end - start > limits.maxHeadBytes)
    throw new HttpParseError(tooLargeStatus, `head larger than ${limits.maxHeadBytes} bytes`);
  // A head that uses bare LFs would never end here: refuse it now rather than at the timeout.
  let lf = buf.indexOf(LF, Math.max(start, scanFrom));
  while (lf >= 0 && lf < end) {
    if (lf === start || buf[lf - 1] !== CR) throw new HttpParseError(400, "bare LF in head");
    lf = buf.indexOf(LF, lf + 1);
  }
  return -1;
}

/** A parsed head: its fields (offsets into `buf`, see http-fields.ts) and what the parser derived. */
export abstract class Head extends Fields {
  /** Connection options, lower case (e.g. "close", "upgrade", field names). */
  connection: string[] = NONE;

  constructor(
    buf: Buffer,
    /** The head is buf[start, end). */
    readonly start: number,
    readonly end: number,
    /** Index in buf just after the start line's CRLF. */
    readonly startLineEnd: number,
    /** 0: HTTP/1.0, 1: HTTP/1.1. */
    readonly minor: 0 | 1,
    offsets: number[],
  ) {
    super(buf, offsets);
  }

  /** The fields (the head itself: one object per head). */
  get fields(): Fields {
    return this;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every field, decoded (name in lower case). */
  get headers(): HeaderField[] {
    return this.fields.all();
  }

  /** The head's bytes. */
  get raw(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }
}

export type TargetForm = "origin" | "absolute" | "authority" | "asterisk";

export class RequestHead extends Head {
  method = "";
  form: TargetForm = "origin";
  targetStart = 0;
  targetEnd = 0;
  /** Index of the Host field, or -1. */
  hostField = -1;
  body: Framing = NO_BODY;
  keepAlive = true;
  /** The protocol asked for with Connection: upgrade + Upgrade (HTTP/1.1 only), else null. */
  upgrade: string | null = null;
  expectContinue = false;
  private targetText: string | undefined;
  private authorityText: string | undefined;
  private pathText: string | undefined;

  /** The request-target as received. */
  get target(): string {
    this.targetText ??= this.buf.toString("latin1", this.targetStart, this.targetEnd);
    return this.targetText;
  }

  /** Host and port the request is for: the absolute-form or CONNECT target's, else the Host field. */
  get authority(): string {
    this.authorityText ??= this.hostField < 0 ? "" : this.fields.value(this.hostField);
    return this.authorityText;
  }

  /** Path and query to send on in origin-form ("*" for asterisk-form, "" for CONNECT). */
  get path(): string {
    this.pathText ??= this.form === "origin" ? this.target : this.form === "asterisk" ? "*" : "";
    return this.pathText;
  }

  /** Sets what an absolute-form or CONNECT target says (parser only). */
  resolved(authority: string, path: string): void {
    this.authorityText = authority;
    this.pathText = path;
  }
}

export function parseVersion(buf: Buffer, pos: number, status: number): 0 | 1 {
  // "HTTP/1.0" or "HTTP/1.1"
  if (
    buf[pos] !== 72 ||
    buf[pos + 1] !== 84 ||
    buf[pos + 2] !== 84 ||
    buf[pos + 3] !== 80 ||
    buf[pos + 4] !== 47 ||
    buf[pos + 6] !== 46
  )
    throw new HttpParseError(status, "malformed HTTP version");
  const major = buf[pos + 5] as number;
  const minor = buf[pos + 7] as number;
  if (major < 48 || major > 57 || minor < 48 || minor > 57)
    throw new HttpParseError(status, "malformed HTTP version");
  if (major !== 49 || minor > 49)
    throw new HttpParseError(status === 400 ? 505 : status, "unsupported HTTP version");
  return minor === 49 ? 1 : 0;
}

const METHODS = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"].map(
  (m) => [m, Buffer.from(m)] as const,
);

/** The method as a string, without decoding the common ones. */
function methodName(buf: Buffer, start: number, end: number): string {
  outer: for (const [name, bytes] of METHODS) {
    if (bytes.length !== end - start) continue;
    for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) continue outer;
    return name;
  }
  return buf.toString("latin1", start, end);
}

export function connectionOptions(head: Head, status: number): string[] {
  if (head.fields.find(F_CONNECTION) < 0) return NONE;
  const tokens = head.fields.list(F_CONNECTION);
  for (const t of tokens) if (!isToken(t)) throw new HttpParseError(status, "malformed Connection field");
  return tokens;
}

/** Content-Length from its digits (-1 when absent); several fields or anything but digits: error. */
export function contentLength(head: Head, status: number): number {
  const { offsets } = head.fields;
  const buf = head.buf;
  let value = -1;
  for (let o = 0; o < offsets.length; o += STRIDE) {
    if (offsets[o + 5] !== F_CONTENT_LENGTH) continue;
    if (value >= 0) throw new HttpParseError(status, "more than one Content-Length");
    const start = offsets[o + 2] as number;
    const end = offsets[o + 3] as number;
    if (end === start || end - start > 15) throw new HttpParseError(status, "invalid Content-Length");
    value = 0;
    for (let i = start; i < end; i++) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) throw new HttpParseError(status, "invalid Content-Length");
      value = value * 10 + d;
    }
  }
  return value;
}

/** The transfer codings named by every Transfer-Encoding field, in order. */
export function transferCodings(head: Head, status: number): string[] {
  const codings = head.fields.list(F_TRANSFER_ENCODING);
  for (const c of codings) if (!isToken(c)) throw new HttpParseError(status, "malformed Transfer-Encoding");
  return codings;
}

/** Parses a complete request head buf[start, headEnd) (headEnd from findHeadEnd). */
export function parseRequestHead(
  buf: Buffer,
  start: number,
  headEnd: number,
  limits: HeadLimits = DEFAULT_LIMITS,
): RequestHead {
  // method SP request-target SP HTTP-version CRLF
  let pos = start;
  while (TCHAR[buf[pos] as number] === 1) pos++;
  if (pos === start || buf[pos] !== SP) throw new HttpParseError(400, "malformed request line (method)");
  const methodEnd = pos;
  const targetStart = ++pos;
  while (TARGET_CHAR[buf[pos] as number] === 1) pos++;
  if (pos === targetStart || buf[pos] !== SP)
    throw new HttpParseError(400, "malformed request line (target)");
  const targetEnd = pos;
  const minor = parseVersion(buf, pos + 1, 400);
  pos += 9;
  if (buf[pos] !== CR || buf[pos + 1] !== LF) throw new HttpParseError(400, "malformed request line");
  pos += 2;
  const offsets: number[] = [];
  parseFields(buf, pos, headEnd, limits.maxHeaders, 400, offsets);
  const head = new RequestHead(buf, start, headEnd, pos, minor, offsets);
  head.method = methodName(buf, start, methodEnd);
  head.targetStart = targetStart;
  head.targetEnd = targetEnd;
  let hosts = 0;
  let teFields = 0;
  let expect = -1;
  let upgrade = -1;
  for (let o = 0; o < offsets.length; o += STRIDE) {
    const id = offsets[o + 5];
    if (id === F_HOST) {
      hosts++;
      head.hostField = o / STRIDE;
      for (let i = offsets[o + 2] as number; i < (offsets[o + 3] as number); i++)
        if (HOST_CHAR[buf[i] as number] !== 1) throw new HttpParseError(400, "invalid Host field");
    } else if (id === F_TRANSFER_ENCODING) teFields++;
    else if (id === F_EXPECT) expect = o;
    else if (id === F_UPGRADE) upgrade = o / STRIDE;
  }
  if (hosts > 1) throw new HttpParseError(400, "more than one Host field");
  if (hosts === 0 && minor === 1) throw new HttpParseError(400, "missing Host field");
  head.connection = connectionOptions(head, 400);
  resolveTarget(head);
  head.body = requestFraming(head, teFields > 0);
  head.keepAlive = minor === 1 ? !head.connection.includes("close") : head.connection.includes("keep-alive");
  if (minor === 1 && upgrade >= 0 && head.connection.includes("upgrade")) {
    const value = head.fields.value(upgrade);
    if (value !== "") head.upgrade = value;
  }
  if (expect >= 0) {
    if (!nameEquals(buf, offsets[expect + 2] as number, offsets[expect + 3] as number, "100-continue"))
      throw new HttpParseError(417, "unsupported expectation");
    head.expectContinue = true;
  }
  return head;
}

function resolveTarget(head: RequestHead): void {
  const { buf, targetStart, targetEnd, method } = head;
  if (method === "CONNECT") {
    // authority-form: host:port, port required
    const target = head.target;
    const colon = target.lastIndexOf(":");
    const port = target.slice(colon + 1);
    if (colon <= 0 || !/^[0-9]{1,5}$/.test(port) || Number(port) > 65535 || !isHost(target))
      throw new HttpParseError(400, "CONNECT needs a host:port target");
    head.form = "authority";
    head.resolved(target, "");
    return;
  }
  const first = buf[targetStart];
  if (first === 47 /* / */) return; // origin-form, the common case
  if (first === 42 /* * */ && targetEnd === targetStart + 1) {
    if (method !== "OPTIONS") throw new HttpParseError(400, "asterisk-form is for OPTIONS only");
    head.form = "asterisk";
    return;
  }
  // absolute-form: http://authority[/path]
  const target = head.target;
  const lower = target.slice(0, 8).toLowerCase();
  const schemeEnd = lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : -1;
  if (schemeEnd < 0) throw new HttpParseError(400, "malformed request-target");
  let i = schemeEnd;
  while (i < target.length && target[i] !== "/" && target[i] !== "?") i++;
  const authority = target.slice(schemeEnd, i);
  if (authority === "" || !isHost(authority))
    throw new HttpParseError(400, "invalid authority in request-target");
  const rest = target.slice(i);
  head.form = "absolute";
  head.resolved(authority, rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest);
}

function requestFraming(head: RequestHead, hasTransferEncoding: boolean): Framing {
  const length = contentLength(head, 400);
  if (hasTransferEncoding) {
    const codings = transferCodings(head, 400);
    if (head.minor === 0) throw new HttpParseError(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (length >= 0) throw new HttpParseError(400, "both Transfer-Encoding and Content-Length");
    if (codings.length === 1 && codings[0] === "chunked") return CHUNKED;
    if (codings.at(-1) === "chunked" && codings.indexOf("chunked") === codings.length - 1)
      throw new HttpParseError(501, `unsupported transfer coding ${codings[0]}`);
    throw new HttpParseError(400, "Transfer-Encoding must end in chunked, once");
  }
  if (length > 0) {
    if (head.method === "CONNECT") throw new HttpParseError(400, "a CONNECT request has no body");
    return { kind: "length", length };
  }
  return NO_BODY;
}
