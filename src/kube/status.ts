// Kubernetes `Status` answers: every refusal of the facade is one, with the reason and code a
// Kubernetes client acts on (NotFound 404, AlreadyExists 409, Conflict 409, Invalid 422, Forbidden
// 403, Unauthorized 401, BadRequest 400, MethodNotAllowed 405, ServiceUnavailable 503) and, where
// it is about an object, its details. Thrown as KubeError anywhere in a route, answered in one
// place (routes.ts). Pure.
import { PermanentError } from "../runtime/errors.ts";

export type KubeReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "RequestEntityTooLarge"
  | "TooManyRequests"
  | "ServiceUnavailable"
  | "InternalError";

const CODES: Record<KubeReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  TooManyRequests: 429,
  ServiceUnavailable: 503,
  InternalError: 500,
};

export interface StatusDetails {
  name?: string;
  uid?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export class KubeError extends PermanentError {
  constructor(
    readonly reason: KubeReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  get code(): number {
    return CODES[this.reason];
  }
}

export function statusObject(reason: KubeReason, message: string, details?: StatusDetails) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code: CODES[reason],
  };
}

/** The Status of a successful delete (what Kubernetes answers for most kinds). */
export function successStatus(details: StatusDetails) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}

/** `pods "x" not found`, as Kubernetes words it. */
export function notFound(resource: string, name: string, group = ""): KubeError {
  const what = group ? `${resource}.${group}` : resource;
  return new KubeError("NotFound", `${what} "${name}" not found`, { name, group, kind: resource });
}
