// The one error the cloud API answers with a 4xx: thrown where a refusal is found (a route, the
// control plane, the Dayu expansion, the join transaction) and answered in one place, the app's
// onError (src/cloud/api/app.ts), as `{error, issues?}` with its status and headers. Anything
// else that reaches onError is a bug in levee: a 500, logged. (Hono's HTTPException plays the same
// part; this one carries the issues with their paths.)
import { PermanentError } from "../runtime/errors.ts";

/** One problem of a request, with the path of the field it is about. */
export interface ApiIssue {
  path: string;
  message: string;
  /** The document of a multi-document manifest (0-based). */
  document?: number;
  kind?: string;
  name?: string;
  /** Set for objects outside the `default` namespace. */
  namespace?: string;
}

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 416 | 503 | 507;

export class ApiError extends PermanentError {
  readonly issues: ApiIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: ApiErrorStatus,
    message: string,
    options: { issues?: ApiIssue[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

/** A refusal about objects (an apply or a delete): the first issue is the headline. */
export function rejected(
  status: 400 | 404 | 409,
  issues: [ApiIssue & { kind: string; name: string }, ...(ApiIssue & { kind: string; name: string })[]],
): ApiError {
  return new ApiError(status, issues[0].message, { issues });
}
