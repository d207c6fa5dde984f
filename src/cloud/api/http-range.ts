// HTTP range requests (RFC 9110 §14) for blob downloads, as a pure function: which bytes of a
// representation of `size` bytes to send for a Range / If-Range pair. One range only: a request for
// several ranges, or a Range header that does not parse, gets the whole representation (200), as the
// RFC allows; a range that starts at or past the end is unsatisfiable (416).

export type RangeAnswer =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

/**
 * @param range   the Range header, if any
 * @param ifRange the If-Range header, if any: the range applies only when it names `etag`
 * @param etag    the representation's entity tag, quoted ("\"abc\"")
 */
export function selectRange(
  range: string | undefined,
  ifRange: string | undefined,
  size: number,
  etag: string,
): RangeAnswer {
  if (range === undefined) return { kind: "full" };
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: "full" };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(range);
  if (!match) return { kind: "full" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // bytes=-N: the last N bytes
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return { kind: "unsatisfiable" };
  if (last !== "" && Number(last) < start) return { kind: "full" }; // invalid: ignored
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "partial", start, end };
}

/** The Content-Range header of an answer. */
export function contentRange(answer: RangeAnswer, size: number): string | undefined {
  if (answer.kind === "partial") return `bytes ${answer.start}-${answer.end}/${size}`;
  if (answer.kind === "unsatisfiable") return `bytes */${size}`;
  return undefined;
}

/** Whether an If-None-Match header matches `etag` (then the answer is 304). */
export function noneMatch(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch
    .split(",")
    .map((t) => t.trim().replace(/^W\//, ""))
    .some((t) => t === "*" || t === etag);
}
