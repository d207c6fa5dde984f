// The field section of an HTTP/1.1 head, parsed in place (pure): every field line is validated
// (token name, colon right after it, value of field-vchar/SP/HTAB, CRLF) and recorded as byte offsets
// into the received buffer; nothing is decoded into strings unless someone asks for it. The fields
// the proxy acts on (framing, hop-by-hop, forwarding) are recognised by comparing bytes, so the hot
// path neither allocates a string per field nor lower-cases names.
import { PermanentError } from "../../runtime/errors.ts";

/** A malformed head or body: the same bytes are refused again, so it is permanent. */
export class HttpParseError extends PermanentError {
  constructor(
    /** 400, 417, 431 (head too large), 501 (unsupported transfer coding), 505 (version); 502 for responses. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** tchar (RFC 9110 §5.6.2): what a token (method, field name, coding) is made of. */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;
/** field-vchar, SP, HTAB: what a field value (or reason phrase) may contain. */
export const VALUE_CHAR = new Uint8Array(256);
for (let c = 0x20; c <= 0x7e; c++) VALUE_CHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VALUE_CHAR[c] = 1;
VALUE_CHAR[9] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

// Fields the proxy recognises (ids stored with each field).
const F_OTHER = 0;
export const F_HOST = 1;
export const F_CONTENT_LENGTH = 2;
export const F_TRANSFER_ENCODING = 3;
export const F_CONNECTION = 4;
export const F_KEEP_ALIVE = 5;
export const F_PROXY_CONNECTION = 6;
export const F_TE = 7;
export const F_UPGRADE = 8;
export const F_EXPECT = 9;
export const F_X_FORWARDED_FOR = 10;
export const F_X_FORWARDED_PROTO = 11;
export const F_X_FORWARDED_HOST = 12;
export const F_X_LEVEE_UPSTREAM = 13;

const KNOWN: [string, number][] = [
  ["host", F_HOST],
  ["content-length", F_CONTENT_LENGTH],
  ["transfer-encoding", F_TRANSFER_ENCODING],
  ["connection", F_CONNECTION],
  ["keep-alive", F_KEEP_ALIVE],
  ["proxy-connection", F_PROXY_CONNECTION],
  ["te", F_TE],
  ["upgrade", F_UPGRADE],
  ["expect", F_EXPECT],
  ["x-forwarded-for", F_X_FORWARDED_FOR],
  ["x-forwarded-proto", F_X_FORWARDED_PROTO],
  ["x-forwarded-host", F_X_FORWARDED_HOST],
  ["x-levee-upstream", F_X_LEVEE_UPSTREAM],
];
/** Known names by length; names are compared with ASCII letters folded to lower case (| 0x20). */
const BY_LENGTH: [Uint8Array, number][][] = [];
for (const [name, id] of KNOWN) {
  const list = BY_LENGTH[name.length] ?? [];
  list.push([Buffer.from(name, "latin1"), id]);
  BY_LENGTH[name.length] = list;
}

function knownId(buf: Uint8Array, start: number, end: number): number {
  const list = BY_LENGTH[end - start];
  if (list === undefined) return F_OTHER;
  const first = (buf[start] as number) | 0x20;
  outer: for (const [bytes, id] of list) {
    if (bytes[0] !== first) continue;
    for (let i = 1; i < bytes.length; i++)
      if (((buf[start + i] as number) | 0x20) !== bytes[i]) continue outer;
    return id;
  }
  return F_OTHER;
}

/** Case-insensitive comparison of buf[start, end) with a lower-case name. */
export function nameEquals(buf: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = buf[start + i] as number;
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Per field, in this order: line start, name end, value start, value end, line end (after CRLF), id. */
export const STRIDE = 6;

export interface HeaderField {
  /** Lower case. */
  name: string;
  /** Without surrounding whitespace. */
  value: string;
}

const SP = 32;
const HTAB = 9;
const CR = 13;
const LF = 10;
const COLON = 58;

/**
 * Parses the field lines in buf[from, end - 2) (the last CRLF ends the head) into `fields` (STRIDE
 * numbers each). Throws HttpParseError with `status` (431 instead of 400 for too many fields).
 */
export function parseFields(
  buf: Uint8Array,
  from: number,
  end: number,
  maxFields: number,
  status: number,
  fields: number[],
): void {
  const last = end - 2;
  let pos = from;
  let count = 0;
  while (pos < last) {
    const lineStart = pos;
    if (++count > maxFields)
      throw new HttpParseError(status === 400 ? 431 : status, `more than ${maxFields} header fields`);
    const first = buf[pos] as number;
    if (first === SP || first === HTAB)
      throw new HttpParseError(status, "obsolete line folding (a field line starting with whitespace)");
    while (TCHAR[buf[pos] as number] === 1) pos++;
    const nameEnd = pos;
    if (nameEnd === lineStart) throw new HttpParseError(status, "invalid character in a field name");
    if (buf[pos] !== COLON) {
      const c = buf[pos];
      throw new HttpParseError(
        status,
        c === SP || c === HTAB
          ? "whitespace between field name and colon"
          : "invalid character in a field name",
      );
    }
    pos++;
    while (buf[pos] === SP || buf[pos] === HTAB) pos++;
    const valueStart = pos;
    let c = buf[pos] as number;
    while (VALUE_CHAR[c] === 1) c = buf[++pos] as number;
    if (c !== CR || buf[pos + 1] !== LF)
      throw new HttpParseError(status, "invalid character in a field value");
    let valueEnd = pos;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    pos += 2;
    fields.push(lineStart, nameEnd, valueStart, valueEnd, pos, knownId(buf, lineStart, nameEnd));
  }
}

/** The fields of a parsed head, as offsets into its buffer; strings only on request. */
export class Fields {
  constructor(
    readonly buf: Buffer,
    /** STRIDE numbers per field. */
    readonly offsets: number[],
  ) {}

  get count(): number {
    return this.offsets.length / STRIDE;
  }

  id(i: number): number {
    return this.offsets[i * STRIDE + 5] as number;
  }

  name(i: number): string {
    const o = i * STRIDE;
    return this.buf
      .toString("latin1", this.offsets[o] as number, this.offsets[o + 1] as number)
      .toLowerCase();
  }

  value(i: number): string {
    const o = i * STRIDE;
    return this.buf.toString("latin1", this.offsets[o + 2] as number, this.offsets[o + 3] as number);
  }

  /** The field's name equals this lower-case name. */
  is(i: number, lower: string): boolean {
    const o = i * STRIDE;
    return nameEquals(this.buf, this.offsets[o] as number, this.offsets[o + 1] as number, lower);
  }

  /** The first value of a field (name in lower case). */
  get(lower: string): string | undefined {
    for (let i = 0; i < this.offsets.length / STRIDE; i++) if (this.is(i, lower)) return this.value(i);
    return undefined;
  }

  /** Index of the first field with this id, or -1. */
  find(id: number): number {
    for (let i = 5; i < this.offsets.length; i += STRIDE) if (this.offsets[i] === id) return (i - 5) / STRIDE;
    return -1;
  }

  /** The comma-separated elements of every field with this id, trimmed and lower case. */
  list(id: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      if (this.id(i) !== id) continue;
      for (const part of this.value(i).split(",")) out.push(part.trim().toLowerCase());
    }
    return out;
  }

  /** Every field, decoded. */
  all(): HeaderField[] {
    const out: HeaderField[] = [];
    for (let i = 0; i < this.count; i++) out.push({ name: this.name(i), value: this.value(i) });
    return out;
  }
}
