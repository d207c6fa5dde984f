// Writes the heads the proxy sends on (pure): the request head for the upstream and the response head
// for the client, built from the received head's bytes (field lines that stay are copied as runs,
// never decoded), and the proxy's own small responses (errors, CONNECT established).
//
// Hop-by-hop fields (RFC 9110 §7.6.1) are removed: Connection and every field it names, Keep-Alive,
// Proxy-Connection, TE, Upgrade (kept only for an upgrade), Transfer-Encoding (re-applied canonically
// as "chunked" when the body is chunked). Added on requests: X-Forwarded-For (appended to), and
// X-Forwarded-Proto / X-Forwarded-Host when absent; absolute-form targets are sent in origin-form with
// the target's authority as Host.

import type { DialTarget } from "../contracts.ts";
import {
  F_CONNECTION,
  F_HOST,
  F_KEEP_ALIVE,
  F_PROXY_CONNECTION,
  F_TE,
  F_TRANSFER_ENCODING,
  F_UPGRADE,
  F_X_FORWARDED_FOR,
  F_X_FORWARDED_HOST,
  F_X_FORWARDED_PROTO,
  F_X_LEVEE_UPSTREAM,
  nameEquals,
  STRIDE,
} from "./http-fields.ts";
import type { RequestHead } from "./http-parser.ts";
import type { ResponseHead } from "./http-response-parser.ts";

export type HeaderPairs = readonly (readonly [string, string])[];

export interface RequestRewrite {
  /** The client's address, appended to X-Forwarded-For ("" for none). */
  clientAddress: string;
  /** For X-Forwarded-Proto when absent. */
  proto: string;
  /** Forward the Upgrade request (the response decides whether it happens). */
  upgrade: boolean;
  /** Fields (lower case) to drop, e.g. the forward proxy's X-Levee-Node. */
  remove?: readonly string[] | undefined;
  /** Fields to set (replacing any received with that name). */
  set?: HeaderPairs | undefined;
  /**
   * The writer's memo for this connection: the encoded X-Forwarded-* lines + blank line for the last
   * Host seen (most requests on a connection carry the same Host).
   */
  memo?: { host: Buffer; tail: Buffer } | undefined;
}

export interface ResponseRewrite {
  /** The client connection closes after this response. */
  close: boolean;
  /** The client's HTTP minor version. */
  clientMinor: 0 | 1;
  /** A 101 that switches protocols: keep Upgrade, say Connection: upgrade. */
  upgrade: boolean;
  /** Value of X-Levee-Upstream, when asked for. */
  upstreamLabel?: string | undefined;
}

/** A header value we write ourselves: printable ASCII and obs-text, never CR/LF (no header splitting). */
function safeHeaderValue(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(value) ? value.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, "?") : value;
}

// --- an output buffer reused by every head written (one head at a time: no I/O in between) ---

let scratch = Buffer.allocUnsafe(96 * 1024);
let at = 0;

function room(n: number): void {
  if (at + n <= scratch.length) return;
  const next = Buffer.allocUnsafe(Math.max(scratch.length * 2, at + n));
  scratch.copy(next, 0, 0, at);
  scratch = next;
}
function putBytes(buf: Buffer, start: number, end: number): void {
  if (end <= start) return;
  room(end - start);
  at += buf.copy(scratch, at, start, end);
}
function putConst(bytes: Buffer): void {
  room(bytes.length);
  scratch.set(bytes, at);
  at += bytes.length;
}
function putString(text: string): void {
  room(text.length * 3);
  at += scratch.write(text, at, "latin1");
}
/** The head written so far, with `body` appended, in a buffer of its own. */
function finish(body: Uint8Array | undefined): Buffer {
  const size = at + (body?.byteLength ?? 0);
  const out = Buffer.allocUnsafe(size);
  scratch.copy(out, 0, 0, at);
  if (body !== undefined) out.set(body, at);
  return out;
}

const ascii = (s: string) => Buffer.from(s, "latin1");
const CRLF = ascii("\r\n");
const COMMA = ascii(", ");
const HTTP11 = ascii("HTTP/1.1");
const TE_CHUNKED = ascii("Transfer-Encoding: chunked\r\n");
const CONNECTION_CLOSE = ascii("Connection: close\r\n");
const CONNECTION_KEEP_ALIVE = ascii("Connection: keep-alive\r\n");
const CONNECTION_UPGRADE = ascii("Connection: upgrade\r\nUpgrade: ");
const XFF = ascii("X-Forwarded-For: ");
const XFH = ascii("X-Forwarded-Host: ");

/** A field named by Connection, or by the route's remove/set lists. */
function listedField(
  head: RequestHead | ResponseHead,
  o: number,
  lists: (readonly string[] | undefined)[],
): boolean {
  const { buf } = head;
  const offsets = head.fields.offsets;
  const start = offsets[o] as number;
  const end = offsets[o + 1] as number;
  for (const list of lists)
    if (list !== undefined) for (const name of list) if (nameEquals(buf, start, end, name)) return true;
  return false;
}

function isHopByHop(id: number): boolean {
  return (
    id === F_CONNECTION || id === F_KEEP_ALIVE || id === F_PROXY_CONNECTION || id === F_TE || id === F_UPGRADE
  );
}

/** The request head to send upstream, with `body` (the first body bytes, if any) appended. */
export function forwardRequestHead(head: RequestHead, rewrite: RequestRewrite, body?: Uint8Array): Buffer {
  const { buf } = head;
  const offsets = head.fields.offsets;
  at = 0;
  // Origin-form requests keep their request line byte for byte (copied with the first fields).
  let runStart = head.start;
  if (head.form !== "origin") {
    putString(`${head.method} ${head.path} HTTP/1.${head.minor}\r\n`);
    runStart = head.startLineEnd;
  }
  const dropHost = head.form === "absolute";
  const { remove, set } = rewrite;
  const setNames = set === undefined ? undefined : set.map(([n]) => n.toLowerCase());
  const slow = head.connection.length > 0 || remove !== undefined || setNames !== undefined;
  let forwardedFor: number[] | undefined;
  let hasProto = false;
  let hasHost = false;
  for (let o = 0; o < offsets.length; o += STRIDE) {
    const id = offsets[o + 5] as number;
    let drop = isHopByHop(id) || id === F_TRANSFER_ENCODING;
    if (id === F_X_FORWARDED_FOR) {
      forwardedFor ??= [];
      forwardedFor.push(o);
      drop = true;
    } else if (id === F_HOST) drop = dropHost;
    else if (id === F_X_FORWARDED_PROTO) hasProto = true;
    else if (id === F_X_FORWARDED_HOST) hasHost = true;
    if (!drop && slow) drop = listedField(head, o, [head.connection, remove, setNames]);
    if (drop) {
      putBytes(buf, runStart, offsets[o] as number);
      runStart = offsets[o + 4] as number;
    }
  }
  putBytes(buf, runStart, head.end - 2);
  const client = rewrite.clientAddress;
  // The common case (origin-form, no forwarding fields yet, nothing to add but X-Forwarded-*): one
  // memoised tail for this connection's Host.
  if (
    head.form === "origin" &&
    forwardedFor === undefined &&
    !hasProto &&
    !hasHost &&
    set === undefined &&
    head.body.kind !== "chunked" &&
    head.minor === 1 &&
    !(rewrite.upgrade && head.upgrade !== null)
  ) {
    putConst(memoTail(head, rewrite));
    return finish(body);
  }
  if (dropHost) putString(`Host: ${head.authority}\r\n`);
  if (head.body.kind === "chunked") putConst(TE_CHUNKED);
  if (rewrite.upgrade && head.upgrade !== null)
    putString(`Connection: upgrade\r\nUpgrade: ${head.upgrade}\r\n`);
  else if (head.minor === 0) putConst(CONNECTION_KEEP_ALIVE);
  if (forwardedFor !== undefined) {
    putConst(XFF);
    forwardedFor.forEach((o, i) => {
      if (i > 0) putConst(COMMA);
      putBytes(buf, offsets[o + 2] as number, offsets[o + 3] as number);
    });
    if (client !== "") putString(`, ${client}\r\n`);
    else putConst(CRLF);
  } else if (client !== "") putString(`X-Forwarded-For: ${client}\r\n`);
  if (!hasProto) putString(`X-Forwarded-Proto: ${rewrite.proto}\r\n`);
  if (!hasHost) {
    if (head.form === "origin" || head.form === "asterisk") {
      if (head.hostField >= 0) {
        const o = head.hostField * STRIDE;
        if ((offsets[o + 3] as number) > (offsets[o + 2] as number)) {
          putConst(XFH);
          putBytes(buf, offsets[o + 2] as number, offsets[o + 3] as number);
          putConst(CRLF);
        }
      }
    } else putString(`X-Forwarded-Host: ${head.authority}\r\n`);
  }
  if (set !== undefined) for (const [n, v] of set) putString(`${n}: ${safeHeaderValue(v)}\r\n`);
  putConst(CRLF);
  return finish(body);
}

/** "X-Forwarded-For: client / -Proto / -Host: host" and the blank line, memoised per connection. */
function memoTail(head: RequestHead, rewrite: RequestRewrite): Buffer {
  const { buf } = head;
  const o = head.hostField * STRIDE;
  const hostStart = head.hostField < 0 ? 0 : (head.fields.offsets[o + 2] as number);
  const hostEnd = head.hostField < 0 ? 0 : (head.fields.offsets[o + 3] as number);
  const memo = rewrite.memo;
  if (memo !== undefined && memo.host.length === hostEnd - hostStart) {
    let same = true;
    for (let i = 0; i < memo.host.length; i++)
      if (memo.host[i] !== buf[hostStart + i]) {
        same = false;
        break;
      }
    if (same) return memo.tail;
  }
  const host = buf.toString("latin1", hostStart, hostEnd);
  let tail = "";
  if (rewrite.clientAddress !== "") tail += `X-Forwarded-For: ${rewrite.clientAddress}\r\n`;
  tail += `X-Forwarded-Proto: ${rewrite.proto}\r\n`;
  if (host !== "") tail += `X-Forwarded-Host: ${host}\r\n`;
  const next = { host: Buffer.from(host, "latin1"), tail: Buffer.from(`${tail}\r\n`, "latin1") };
  rewrite.memo = next;
  return next.tail;
}

/** The response head goes to the client as the upstream sent it (forwardResponseHead returns null). */
export function responseHeadUnchanged(head: ResponseHead, rewrite: ResponseRewrite): boolean {
  return (
    !head.hopByHop &&
    head.minor === 1 &&
    !rewrite.close &&
    !(rewrite.clientMinor === 0 && !rewrite.close) &&
    !rewrite.upgrade &&
    rewrite.upstreamLabel === undefined
  );
}

/**
 * The response head for the client, or null when the received head can go as it is (HTTP/1.1, no
 * hop-by-hop fields, nothing to add): then the proxy forwards the upstream's bytes unchanged.
 * `body` (the first body bytes) is appended to a rewritten head.
 */
export function forwardResponseHead(
  head: ResponseHead,
  rewrite: ResponseRewrite,
  body?: Uint8Array,
): Buffer | null {
  if (responseHeadUnchanged(head, rewrite)) return null;
  const keepAlive10 = rewrite.clientMinor === 0 && !rewrite.close;
  const label = rewrite.upstreamLabel;
  const { buf } = head;
  const offsets = head.fields.offsets;
  at = 0;
  if (head.minor === 1) putBytes(buf, head.start, head.startLineEnd);
  else {
    // We speak HTTP/1.1 to the client whatever the upstream spoke.
    putConst(HTTP11);
    putBytes(buf, head.start + 8, head.startLineEnd);
  }
  const slow = head.connection.length > 0;
  let upgrade = -1;
  let runStart = head.startLineEnd;
  for (let o = 0; o < offsets.length; o += STRIDE) {
    const id = offsets[o + 5] as number;
    if (id === F_UPGRADE) upgrade = o;
    const drop =
      isHopByHop(id) ||
      (label !== undefined && id === F_X_LEVEE_UPSTREAM) ||
      (slow && listedField(head, o, [head.connection]));
    if (drop) {
      putBytes(buf, runStart, offsets[o] as number);
      runStart = offsets[o + 4] as number;
    }
  }
  putBytes(buf, runStart, head.end - 2);
  if (rewrite.upgrade && upgrade >= 0) {
    putConst(CONNECTION_UPGRADE);
    putBytes(buf, offsets[upgrade + 2] as number, offsets[upgrade + 3] as number);
    putConst(CRLF);
  } else if (rewrite.close) putConst(CONNECTION_CLOSE);
  else if (keepAlive10) putConst(CONNECTION_KEEP_ALIVE);
  if (label !== undefined) putString(`X-Levee-Upstream: ${safeHeaderValue(label)}\r\n`);
  putConst(CRLF);
  return finish(body);
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Status";
}

/** A complete response written by the proxy itself (Content-Length framed). */
export function localResponse(
  status: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
  options: { close: boolean; head?: boolean },
): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  let text = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "connection" || lower === "transfer-encoding") continue;
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) continue;
    text += `${name}: ${safeHeaderValue(value)}\r\n`;
  }
  text += `Content-Length: ${bytes.byteLength}\r\n`;
  if (options.close) text += "Connection: close\r\n";
  text += "\r\n";
  const headBytes = Buffer.from(text, "latin1");
  return options.head === true ? headBytes : Buffer.concat([headBytes, bytes]);
}

/** The proxy's JSON error response (502, 504, 400, ...) with an X-Levee-Error header. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  detail: Record<string, string | number> = {},
  options: { close: boolean; head?: boolean } = { close: true },
): Buffer {
  const body = JSON.stringify({ error: message, status, ...detail });
  return localResponse(
    status,
    {
      "Content-Type": "application/json",
      "X-Levee-Error": `${code}: ${message}`,
      "Cache-Control": "no-store",
    },
    body,
    options,
  );
}

export const CONNECT_ESTABLISHED = Buffer.from("HTTP/1.1 200 Connection established\r\n\r\n");

/**
 * The proxy's answer when the upstream failed before any response byte: 504 after a timeout, else
 * 502, naming the target (the worker, or the node).
 */
export function upstreamErrorResponse(
  kind: string,
  message: string,
  target: DialTarget,
  options: { close: boolean; head?: boolean },
): Buffer {
  const status = kind === "timeout" ? 504 : 502;
  const detail: Record<string, string | number> =
    target.kind === "local"
      ? { service: target.service, worker: target.index }
      : { service: target.service, node: target.node };
  const text =
    kind === "refused" ? `upstream refused the connection (${message})` : `upstream ${kind}: ${message}`;
  return errorResponse(status, `upstream-${kind}`, text, detail, options);
}
