// JSON from a remote party (an API body, an MQTT message, a cloud's answer) read within a size
// and a nesting depth, checked BEFORE JSON.parse builds any object. JSON.parse itself copes with
// 100,000 nested `[`, but every recursive walk after it (zod, YAML composing, canonical JSON)
// overflows the stack, and the cloud grew from 88 MB to 2.6 GB answering one 200 KB body with a
// 500. scanJsonNesting counts brackets outside strings in one linear pass (escapes skipped), so
// the refusal costs O(length) time and no memory; it is exact for valid JSON, and text that is not
// JSON is refused by JSON.parse anyway. No manifest or protocol message of levee nests past ten
// levels: 64 is far from anything real and far from the stack limits.

import { describeError } from "./errors.ts";

/** The deepest nesting of objects and arrays accepted from a remote party (JSON and YAML). */
export const MAX_NESTING_DEPTH = 64;

export interface JsonLimits {
  /** Default MAX_NESTING_DEPTH. */
  maxDepth?: number;
  /** UTF-8 bytes; default: no bound here (the caller bounded what it read). */
  maxBytes?: number;
}

/** Where a text first nests past the limit: 1-based line and column (UTF-16 units). */
export interface TooDeep {
  line: number;
  column: number;
}

export type NestingVerdict = { ok: true; depth: number } | ({ ok: false } & TooDeep);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** The deepest nesting of `[`/`{` outside strings, or where it first goes past `maxDepth`. */
export function scanJsonNesting(text: string, maxDepth: number = MAX_NESTING_DEPTH): NestingVerdict {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      // A raw newline is not valid inside a JSON string, but count it so positions stay right.
      else if (c === NEWLINE) {
        line++;
        lineStart = i + 1;
      }
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth > maxDepth) return { ok: false, line, column: i - lineStart + 1 };
      if (depth > deepest) deepest = depth;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth > 0) depth--;
    } else if (c === NEWLINE) {
      line++;
      lineStart = i + 1;
    }
  }
  return { ok: true, depth: deepest };
}

/** "the request body nests deeper than 64 levels (at line 1, column 65)" */
export function tooDeepMessage(what: string, maxDepth: number, at: TooDeep): string {
  return `${what} nests deeper than ${maxDepth} levels (at line ${at.line}, column ${at.column})`;
}

export type BoundedJson =
  | { ok: true; value: unknown }
  | { ok: false; problem: "too-large" | "too-deep" | "not-json"; reason: string };

/**
 * Parses `text` as JSON within the limits; never throws. `what` names the text in the reason
 * ("the request body", "the catalog").
 */
export function parseJsonWithin(text: string, what: string, limits: JsonLimits = {}): BoundedJson {
  const maxDepth = limits.maxDepth ?? MAX_NESTING_DEPTH;
  if (limits.maxBytes !== undefined) {
    // A UTF-16 unit is at least one UTF-8 byte: the cheap test first.
    const bytes = text.length > limits.maxBytes ? text.length : Buffer.byteLength(text, "utf8");
    if (bytes > limits.maxBytes)
      return { ok: false, problem: "too-large", reason: tooLargeMessage(what, limits.maxBytes) };
  }
  const nesting = scanJsonNesting(text, maxDepth);
  if (!nesting.ok) return { ok: false, problem: "too-deep", reason: tooDeepMessage(what, maxDepth, nesting) };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: "not-json", reason: `${what} is not valid JSON: ${describeError(err)}` };
  }
}

/** "the request body is larger than 1048576 bytes" */
export function tooLargeMessage(what: string, maxBytes: number): string {
  return `${what} is larger than ${maxBytes} bytes`;
}
