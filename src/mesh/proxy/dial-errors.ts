// What went wrong with an upstream, in the words the balancer uses (routing/balancer.ts):
// refused (no connection could be made: ejection), reset (it broke before answering), timeout.
// Also the mesh's small error helpers: coded errors (the codes errorKind reads), abort reasons.
export type UpstreamErrorKind = "refused" | "reset" | "timeout";

/** How one forwarded request or connection went (the balancer's UpstreamOutcome). */
export interface ProxyOutcome {
  /** A response of any status was relayed (http), or the splice ended without an error (tcp). */
  ok: boolean;
  status?: number;
  /** From the dial to the end of the response head (http) or to the close (tcp), ms. */
  latencyMs: number;
  /** Set when the upstream failed; absent when the client went away (no verdict on the upstream). */
  error?: UpstreamErrorKind;
}

const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ETIME", "UND_ERR_CONNECT_TIMEOUT"]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/** Classifies a dial or socket error. Anything that is neither a timeout nor a reset counts as refused. */
export function errorKind(error: unknown): UpstreamErrorKind {
  if (error instanceof Error || (typeof error === "object" && error !== null)) {
    const e = error as { name?: string; code?: string };
    if (e.name === "TimeoutError" || (e.code !== undefined && TIMEOUT_CODES.has(e.code))) return "timeout";
    if (e.code !== undefined && RESET_CODES.has(e.code)) return "reset";
  }
  return "refused";
}

/** An error with a code as Node and Bun name them (ECONNREFUSED, ETIMEDOUT, ...), for errorKind(). */
export function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Why a dial stopped when its signal aborted: the signal's reason, else an ABORT_ERR. */
export function abortError(signal: AbortSignal | undefined): Error {
  return signal?.reason ?? codedError("dial aborted", "ABORT_ERR");
}

/** Any thrown value as an Error. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
