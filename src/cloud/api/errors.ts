// JSON error responses of the cloud API: {error, issues?}. Bad input is always a 4xx that says what
// was wrong and where; a 500 means a bug in levee.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

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

/** Reads a JSON body; a body that is not JSON is a 400 naming the problem. */
export async function readJson(
  c: Context,
): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const text = await c.req.text();
  if (text.trim() === "") return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return {
      ok: false,
      response: apiError(c, 400, `request body is not valid JSON: ${(err as Error).message}`),
    };
  }
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
