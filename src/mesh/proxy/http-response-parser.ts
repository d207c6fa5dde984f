// The response side of the HTTP/1.1 parser (pure): the status line, the fields (http-fields.ts) and
// how the body is delimited (RFC 9112 §6.3: HEAD, 1xx, 204, 304, a 2xx to CONNECT, chunked, length, or
// until the upstream closes). An ambiguous response (Transfer-Encoding with Content-Length, several
// Content-Lengths, chunked twice, Transfer-Encoding in HTTP/1.0) is an error (502), not a guess.
import {
  F_CONNECTION,
  F_KEEP_ALIVE,
  F_PROXY_CONNECTION,
  F_TE,
  F_TRANSFER_ENCODING,
  F_UPGRADE,
  HttpParseError,
  parseFields,
  STRIDE,
  VALUE_CHAR,
} from "./http-fields.ts";
import {
  CHUNKED,
  CLOSE_DELIMITED,
  connectionOptions,
  contentLength,
  DEFAULT_LIMITS,
  type Framing,
  Head,
  type HeadLimits,
  NO_BODY,
  parseVersion,
  transferCodings,
} from "./http-parser.ts";

const CR = 13;
const LF = 10;
const SP = 32;

export class ResponseHead extends Head {
  status = 0;
  /** The upstream asks to keep the connection (before framing is taken into account). */
  keepAlive = true;
  /** It has fields that are hop-by-hop (Connection and those it names, Keep-Alive, Upgrade, ...). */
  hopByHop = false;
  /** Content-Length, or -1 when absent. */
  contentLength = -1;
  /** Number of Transfer-Encoding fields. */
  transferEncodings = 0;
}

/** Parses a complete response head buf[start, headEnd); errors carry status 502. */
export function parseResponseHead(
  buf: Buffer,
  start: number,
  headEnd: number,
  limits: HeadLimits = DEFAULT_LIMITS,
): ResponseHead {
  const minor = parseVersion(buf, start, 502);
  let pos = start + 8;
  if (buf[pos] !== SP) throw new HttpParseError(502, "malformed status line");
  const d0 = (buf[pos + 1] as number) - 48;
  const d1 = (buf[pos + 2] as number) - 48;
  const d2 = (buf[pos + 3] as number) - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9)
    throw new HttpParseError(502, "malformed status code");
  pos += 4;
  if (buf[pos] === SP) {
    pos++;
    while (VALUE_CHAR[buf[pos] as number] === 1) pos++;
  }
  if (buf[pos] !== CR || buf[pos + 1] !== LF) throw new HttpParseError(502, "malformed status line");
  pos += 2;
  const offsets: number[] = [];
  parseFields(buf, pos, headEnd, limits.maxHeaders, 502, offsets);
  const head = new ResponseHead(buf, start, headEnd, pos, minor, offsets);
  head.status = d0 * 100 + d1 * 10 + d2;
  for (let o = 5; o < offsets.length; o += STRIDE) {
    const id = offsets[o];
    if (id === F_TRANSFER_ENCODING) head.transferEncodings++;
    else if (
      id === F_CONNECTION ||
      id === F_KEEP_ALIVE ||
      id === F_PROXY_CONNECTION ||
      id === F_TE ||
      id === F_UPGRADE
    )
      head.hopByHop = true;
  }
  head.connection = connectionOptions(head, 502);
  head.contentLength = contentLength(head, 502);
  head.keepAlive = minor === 1 ? !head.connection.includes("close") : head.connection.includes("keep-alive");
  return head;
}

/**
 * How the response body is delimited (RFC 9112 §6.3), given the request's method. Informational
 * responses and 101 have none (the caller handles them); a 2xx to CONNECT is a tunnel (also none).
 */
export function responseFraming(head: ResponseHead, requestMethod: string): Framing {
  const status = head.status;
  if (status < 200 || status === 204 || status === 304 || requestMethod === "HEAD") return NO_BODY;
  if (requestMethod === "CONNECT" && status < 300) return NO_BODY;
  const length = head.contentLength;
  if (head.transferEncodings > 0) {
    const codings = transferCodings(head, 502);
    if (head.minor === 0) throw new HttpParseError(502, "Transfer-Encoding in an HTTP/1.0 response");
    if (length >= 0) throw new HttpParseError(502, "both Transfer-Encoding and Content-Length in a response");
    if (codings.at(-1) === "chunked") {
      if (codings.indexOf("chunked") !== codings.length - 1)
        throw new HttpParseError(502, "chunked applied twice");
      return CHUNKED;
    }
    return CLOSE_DELIMITED;
  }
  if (length >= 0) return length === 0 ? NO_BODY : { kind: "length", length };
  return CLOSE_DELIMITED;
}
