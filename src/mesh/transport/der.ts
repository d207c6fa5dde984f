// A minimal DER encoder (ITU-T X.690): just the types an X.509 certificate needs. Pure; the
// certificates it builds are parsed back and verified by node:crypto (X509Certificate) and the TLS
// stack in the tests, so an encoding mistake cannot go unnoticed.

export type Der = Uint8Array;

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** A tag-length-value with the given tag byte. */
export function tlv(tag: number, content: Uint8Array): Der {
  const head = [tag, ...length(content.length)];
  const out = new Uint8Array(head.length + content.length);
  out.set(head, 0);
  out.set(content, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const sequence = (...items: Der[]): Der => tlv(0x30, concat(items));
export const set = (...items: Der[]): Der => tlv(0x31, concat(items));
/** [n] EXPLICIT (constructed, context-specific). */
export const explicit = (n: number, inner: Der): Der => tlv(0xa0 | n, inner);
/** [n] IMPLICIT of a primitive (context-specific). */
export const implicit = (n: number, content: Uint8Array): Der => tlv(0x80 | n, content);
export const boolean = (value: boolean): Der => tlv(0x01, Uint8Array.of(value ? 0xff : 0x00));
export const octetString = (content: Uint8Array): Der => tlv(0x04, content);
export const nullValue = (): Der => Uint8Array.of(0x05, 0x00);
export const utf8String = (text: string): Der => tlv(0x0c, new TextEncoder().encode(text));
export const printableString = (text: string): Der => tlv(0x13, new TextEncoder().encode(text));

/** A BIT STRING; `unusedBits` of the last byte are padding (named bit lists drop trailing zeros). */
export const bitString = (content: Uint8Array, unusedBits = 0): Der =>
  tlv(0x03, concat([Uint8Array.of(unusedBits), content]));

/** A non-negative INTEGER from its big-endian magnitude (leading zeros dropped, sign byte added). */
export function unsignedInteger(magnitude: Uint8Array): Der {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  if (bytes.length === 0) return Uint8Array.of(0x02, 0x01, 0x00);
  return tlv(0x02, (bytes[0] ?? 0) & 0x80 ? concat([Uint8Array.of(0), bytes]) : bytes);
}

export const smallInteger = (n: number): Der => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`integer out of range: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(Uint8Array.from(bytes.length ? bytes : [0]));
};

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Der {
  const arcs = dotted.split(".").map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`bad object identifier: ${dotted}`);
    return Number(a);
  });
  const [first = 0, second = 0, ...rest] = arcs;
  if (arcs.length < 2 || first > 2 || (first < 2 && second > 39))
    throw new Error(`bad object identifier: ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

/** UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5); whole seconds, UTC. */
export function time(date: Date): Der {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`date out of range for a certificate: ${iso}`);
  const text = year < 2050 ? digits.slice(2) : digits;
  return tlv(year < 2050 ? 0x17 : 0x18, new TextEncoder().encode(text));
}

/** One TLV read back: its tag, where its content lies, and where the next TLV starts. */
export interface Element {
  tag: number;
  content: Uint8Array;
  /** The whole TLV (tag and length included). */
  raw: Uint8Array;
  end: number;
}

/** Reads the TLV at `offset` (definite lengths only, as DER has). Throws on truncated input. */
export function readElement(der: Uint8Array, offset = 0): Element {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error("DER: truncated element");
  let at = offset + 2;
  let len = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error("DER: unsupported length");
    len = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[at++];
      if (lengthByte === undefined) throw new Error("DER: truncated length");
      len = len * 256 + lengthByte;
    }
  }
  const end = at + len;
  if (end > der.length) throw new Error("DER: element longer than its input");
  return { tag, content: der.subarray(at, end), raw: der.subarray(offset, end), end };
}

/** The elements directly inside a constructed element's content. */
export function children(content: Uint8Array): Element[] {
  const out: Element[] = [];
  for (let at = 0; at < content.length; ) {
    const element = readElement(content, at);
    out.push(element);
    at = element.end;
  }
  return out;
}
