// Reads an HTTP body (a request's or a response's) into text, but never more than a bound:
// `await res.json()` or `c.req.text()` hold whatever the other side sends, so a misbehaving cloud
// or client could make a process buffer gigabytes. Reading stops (and the stream is cancelled) as
// soon as the bytes pass the bound; a Content-Length above it is refused without reading at all.

import { type BoundedJson, type JsonLimits, parseJsonWithin, tooLargeMessage } from "./bounded-json.ts";
import { describeError } from "./errors.ts";

/** The largest JSON answer an agent reads from the cloud's small endpoints (join, certificate). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export type BoundedText = { ok: true; text: string } | { ok: false; reason: string };

/** The body as UTF-8 text, or why not (larger than `maxBytes`). Stream errors are thrown. */
export async function readTextWithin(
  message: Request | Response,
  what: string,
  maxBytes: number,
): Promise<BoundedText> {
  const declared = Number(message.headers.get("content-length") ?? Number.NaN);
  const body = message.body;
  if (declared > maxBytes) {
    await body?.cancel().catch(() => {});
    return { ok: false, reason: tooLargeMessage(what, maxBytes) };
  }
  if (!body) return { ok: true, text: "" };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return { ok: false, reason: tooLargeMessage(what, maxBytes) };
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks, total).toString("utf8") };
}

/** A JSON body read within `maxBytes` and parsed within the depth limit; never throws on content. */
async function readJsonWithin(
  message: Request | Response,
  what: string,
  limits: JsonLimits & { maxBytes: number },
): Promise<BoundedJson> {
  const read = await readTextWithin(message, what, limits.maxBytes);
  if (!read.ok) return { ok: false, problem: "too-large", reason: read.reason };
  return parseJsonWithin(read.text, what, limits);
}

/**
 * The JSON object a server answered, read within MAX_ANSWER_BYTES and the depth limit. An answer
 * that is unreadable, too large, too deep or not an object comes back as `{ error: why }`, so the
 * caller's "the cloud refused / failed: ..." message names the reason.
 */
export async function readJsonAnswer(res: Response, what: string): Promise<Record<string, unknown>> {
  let read: BoundedJson;
  try {
    read = await readJsonWithin(res, what, { maxBytes: MAX_ANSWER_BYTES });
  } catch (err) {
    return { error: `${what} could not be read: ${describeError(err)}` };
  }
  if (!read.ok) return { error: read.reason };
  const value = read.value;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { error: `${what} is not a JSON object` };
  return value as Record<string, unknown>;
}
