// The decisions of an artifact download, as pure functions (no I/O, unit-tested): what to ask for
// given the partial file left by an interrupted download, what an HTTP answer means (data from
// which byte, nothing more to fetch, unknown artifact, refused, try again later), and whether a
// finished body is complete.

export type RequestPlan =
  /** Ask for the bytes from `from` on (0: the whole artifact; else resume the partial file). */
  | { kind: "fetch"; from: number }
  /** The partial already has the expected size: check its hash, fetch nothing. */
  | { kind: "verify" }
  /** The partial cannot be a prefix of the artifact (longer than it): delete it, then fetch all. */
  | { kind: "restart"; reason: string };

/** What to do with a partial file of `partialSize` bytes (0 when there is none). */
export function planRequest(partialSize: number, expectedSize: number | undefined): RequestPlan {
  if (expectedSize !== undefined && partialSize > expectedSize) {
    return {
      kind: "restart",
      reason: `the partial download has ${partialSize} bytes, more than the artifact's ${expectedSize}`,
    };
  }
  if (expectedSize !== undefined && partialSize === expectedSize && partialSize > 0)
    return { kind: "verify" };
  return { kind: "fetch", from: partialSize };
}

/** The Range header for a fetch from `from`: none for the whole artifact. */
export function rangeHeader(from: number): string | undefined {
  return from > 0 ? `bytes=${from}-` : undefined;
}

export type Reply =
  /** The body carries the bytes from `start` to the end; `total` is the artifact's size if known. */
  | { kind: "body"; start: number; total: number | undefined }
  /** 416: nothing at or after the requested byte; `total` is the artifact's size if known. */
  | { kind: "unsatisfiable"; total: number | undefined }
  | { kind: "not-found" }
  /** The cloud refused this node's credentials (401), or this artifact to this node (403). */
  | { kind: "refused"; status: number }
  /** Worth trying again later (5xx, 429, 408, a confusing answer). */
  | { kind: "transient"; reason: string }
  /** Any other answer: trying again will not help. */
  | { kind: "permanent"; reason: string };

/** `bytes 10-99/100` → {start, end, total}; `bytes *\/100` → {total}; else undefined. */
export function parseContentRange(
  header: string | undefined,
): { start?: number; end?: number; total?: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) return undefined;
  const total = m[3] === "*" ? undefined : Number(m[3]);
  if (m[1] === undefined) return { ...(total !== undefined ? { total } : {}) };
  return { start: Number(m[1]), end: Number(m[2]), ...(total !== undefined ? { total } : {}) };
}

/** What an HTTP answer to a request for the bytes from `from` on means. */
export function interpretReply(
  status: number,
  headers: { contentRange?: string | undefined; contentLength?: string | undefined },
  from: number,
): Reply {
  if (status === 200) {
    const length = headers.contentLength;
    const total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    return { kind: "body", start: 0, total };
  }
  if (status === 206) {
    const range = parseContentRange(headers.contentRange);
    if (range?.start === undefined || range.end === undefined || range.total === undefined)
      return {
        kind: "transient",
        reason: `a 206 answer without a usable Content-Range (${headers.contentRange})`,
      };
    if (range.start !== from || range.end !== range.total - 1) {
      return {
        kind: "transient",
        reason: `asked for the bytes from ${from} on, got ${range.start}-${range.end}/${range.total}`,
      };
    }
    return { kind: "body", start: range.start, total: range.total };
  }
  if (status === 416) return { kind: "unsatisfiable", total: parseContentRange(headers.contentRange)?.total };
  if (status === 404) return { kind: "not-found" };
  if (status === 401 || status === 403) return { kind: "refused", status };
  if (status === 408 || status === 429 || status >= 500)
    return { kind: "transient", reason: `HTTP ${status}` };
  return { kind: "permanent", reason: `unexpected answer HTTP ${status}` };
}

/** After a 416: the partial is the whole artifact (verify it), or it is not a prefix (restart). */
export function afterUnsatisfiable(partialSize: number, total: number | undefined): "verify" | "restart" {
  return total !== undefined && partialSize === total ? "verify" : "restart";
}

/** A size mismatch between the reference (the mount's `size`) and the cloud, as a message. */
export function sizeProblem(
  sha256: string,
  expected: number | undefined,
  actual: number | undefined,
): string | undefined {
  if (expected === undefined || actual === undefined || expected === actual) return undefined;
  return `artifact ${sha256} has ${actual} bytes in the cloud, but its reference says size ${expected}`;
}

/** Whether a body that ended after `received` bytes from `start` delivered everything. */
export function bodyEnd(
  start: number,
  received: number,
  total: number | undefined,
): "complete" | "short" | "long" {
  if (total === undefined) return "complete";
  const end = start + received;
  return end === total ? "complete" : end < total ? "short" : "long";
}
