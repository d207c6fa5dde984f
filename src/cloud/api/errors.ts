// JSON error responses of the cloud API: {error, issues?}. Bad input is always a 4xx that says what
// was wrong and where; a 500 means a bug in levee. A route answers a refusal it decides itself with
// apiError(); a refusal found deeper (reading the body, the control plane, a transaction) is thrown
// as an ApiError (src/cloud/api-error.ts) and answered by the app's onError with the same shape.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { parseJsonWithin } from "../../runtime/bounded-json.ts";
import { readTextWithin } from "../../runtime/bounded-read.ts";
import { ApiError, type ApiIssue } from "../api-error.ts";

export type { ApiIssue } from "../api-error.ts";

/** The body of every error answer (the OpenAPI document's Error schema). */
export const apiErrorBodySchema = z.object({
  error: z.string().describe("what was wrong, in one sentence"),
  issues: z
    .array(
      z.object({
        path: z.string().describe("the field, e.g. spec.workers[1].node"),
        message: z.string(),
        document: z.number().int().optional().describe("the document of a multi-document manifest (0-based)"),
        kind: z.string().optional(),
        name: z.string().optional(),
        namespace: z.string().optional(),
      }),
    )
    .optional()
    .describe("each bad field of the request"),
});

export function apiError(c: Context, status: ContentfulStatusCode, error: string, issues?: ApiIssue[]) {
  return c.json(issues ? { error, issues } : { error }, status);
}

/** `service "echo" not found`: every kind in lower case, as nodes and workers are named. */
export function notFound(kind: string, name: string): string {
  return `${kind.toLowerCase()} "${name}" not found`;
}

/**
 * The largest JSON request body (join, token, certificate and log-error requests are a few KB).
 * Also bounds JSON on routes without the API's general body limit (a log stream's error report).
 */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Reads a JSON body within MAX_JSON_BODY_BYTES and the nesting limit (src/runtime/bounded-json.ts):
 * a body too large is a 413, one nesting too deep or not JSON a 400 naming the problem (thrown as
 * an ApiError).
 */
export async function readJson(c: Context): Promise<unknown> {
  const read = await readTextWithin(c.req.raw, "the request body", MAX_JSON_BODY_BYTES);
  if (!read.ok) throw new ApiError(413, read.reason);
  if (read.text.trim() === "") return {};
  const parsed = parseJsonWithin(read.text, "the request body");
  if (!parsed.ok) throw new ApiError(400, parsed.reason);
  return parsed.value;
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

/** Validates a request's query: the values, or an ApiError (400) naming every bad parameter. */
export function parseQuery<T>(c: Context, schema: z.ZodType<T>, what = "query"): T {
  const parsed = schema.safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  throw new ApiError(400, `invalid ${what}`, { issues });
}

/** Reads a JSON body and validates it: the value, or an ApiError (400) naming every bad field. */
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
): Promise<T> {
  const parsed = schema.safeParse(await readJson(c));
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  throw new ApiError(400, `invalid ${what}`, { issues });
}
