// JSON error responses of the cloud API: {error, issues?}. Bad input is always a 4xx that says what
// was wrong and where; a 500 means a bug in levee.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { parseJsonWithin } from "../../runtime/bounded-json.ts";
import { readTextWithin } from "../../runtime/bounded-read.ts";

export interface ApiIssue {
  path: string;
  message: string;
  document?: number;
  kind?: string;
  name?: string;
}

export function apiError(c: Context, status: ContentfulStatusCode, error: string, issues?: ApiIssue[]) {
  return c.json(issues ? { error, issues } : { error }, status);
}

/**
 * The largest JSON request body (join, token, certificate and log-error requests are a few KB).
 * Also bounds JSON on routes without the API's general body limit (a log stream's error report).
 */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Reads a JSON body within MAX_JSON_BODY_BYTES and the nesting limit (src/runtime/bounded-json.ts):
 * a body too large is a 413, one nesting too deep or not JSON a 400 naming the problem.
 */
export async function readJson(
  c: Context,
): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const read = await readTextWithin(c.req.raw, "the request body", MAX_JSON_BODY_BYTES);
  if (!read.ok) return { ok: false, response: apiError(c, 413, read.reason) };
  if (read.text.trim() === "") return { ok: true, value: {} };
  const parsed = parseJsonWithin(read.text, "the request body");
  return parsed.ok ? parsed : { ok: false, response: apiError(c, 400, parsed.reason) };
}

/** zod issues → API issues with paths like spec.workers[1].node */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Reads a JSON body and validates it: the value, or the 400 answer naming every bad field. */
export async function parseBody<T>(
  c: Context,
  schema: {
    safeParse(
      value: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  what: string,
): Promise<{ ok: true; value: T } | { ok: false; response: Response }> {
  const body = await readJson(c);
  if (!body.ok) return body;
  const parsed = schema.safeParse(body.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  return { ok: false, response: apiError(c, 400, `invalid ${what}`, issues) };
}
