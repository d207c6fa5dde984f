// Request smuggling material for the tests: framing field lines in their known obfuscations, and an
// independent oracle (RFC 9112 §5 field syntax + §6.3 framing, written without the parser's code)
// that says whether a head with those lines must be refused and, if not, how its body is framed.

export const FRAMING_LINES = [
  "Content-Length: N",
  "Content-Length:N",
  "Content-Length: N ",
  "Content-Length: 0N",
  "content-length: N",
  "Content-Length: N, N",
  "Content-Length: +N",
  "Content-Length: N\r\nContent-Length: N",
  "Content-Length: 0",
  "Transfer-Encoding: chunked",
  "Transfer-Encoding:\tchunked",
  "Transfer-Encoding:  chunked",
  "Transfer-Encoding: CHUNKED",
  "transfer-encoding: chunked",
  "Transfer-Encoding: xchunked",
  "Transfer-Encoding: chunked ",
  "Transfer-Encoding : chunked",
  " Transfer-Encoding: chunked",
  "\tTransfer-Encoding: chunked",
  "Transfer-Encoding: chunked\r\nTransfer-Encoding: x",
  "Transfer-Encoding: x\r\nTransfer-Encoding: chunked",
  "Transfer-Encoding: chunked, identity",
  "Transfer-Encoding: identity, chunked",
  "Transfer-Encoding: chunked, chunked",
  "Transfer-Encoding: gzip, chunked",
  'Transfer-Encoding: "chunked"',
  "X: y\nTransfer-Encoding: chunked",
  "Transfer-Encoding\r\n : chunked",
  "Transfer-Encoding: chunked\r",
  "Transfer-Encoding: ch\x00unked",
  "Transfer-Encoding: chunked\x0b",
];

export type Oracle =
  | { error: true }
  | { error: false; kind: "none" | "chunked" }
  | { error: false; kind: "length"; n: number };

/** RFC 9112 §6.3 + §5 field syntax, written independently of the parser, for these field lines. */
export function oracle(lines: string[]): Oracle {
  const te: string[] = [];
  const cl: string[] = [];
  for (const line of lines.join("\r\n").split("\r\n")) {
    if (/[\r\n]/.test(line)) return { error: true };
    if (line.startsWith(" ") || line.startsWith("\t")) return { error: true };
    const colon = line.indexOf(":");
    if (colon <= 0) return { error: true };
    const name = line.slice(0, colon);
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return { error: true };
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the oracle's definition of a bad value
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return { error: true };
    if (name.toLowerCase() === "transfer-encoding") te.push(value);
    if (name.toLowerCase() === "content-length") cl.push(value);
  }
  if (te.length > 0) {
    if (cl.length > 0) return { error: true };
    const codings = te
      .join(",")
      .split(",")
      .map((c) => c.trim().toLowerCase());
    return codings.length === 1 && codings[0] === "chunked"
      ? { error: false, kind: "chunked" }
      : { error: true };
  }
  if (cl.length > 1) return { error: true };
  if (cl.length === 1) {
    if (!/^[0-9]+$/.test(cl[0] as string)) return { error: true };
    const n = Number(cl[0]);
    return n === 0 ? { error: false, kind: "none" } : { error: false, kind: "length", n };
  }
  return { error: false, kind: "none" };
}
