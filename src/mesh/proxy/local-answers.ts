// The answers an exchange (exchange.ts) writes itself instead of relaying an upstream's: route()'s
// own response, 500 when route() fails, 502 or 504 when the upstream fails before its response
// began; and whether the client connection must close after such an answer. Apart from the
// exchange's state machine: what these answers say (and the events they report) is policy of its
// own, the same whatever state the exchange was in.

import { describeError } from "../../runtime/errors.ts";
import type { DialTarget } from "../contracts.ts";
import type { ClientSide } from "./client-side.ts";
import type { UpstreamErrorKind } from "./dial-errors.ts";
import { errorResponse, localResponse, upstreamErrorResponse } from "./http-head-writer.ts";
import type { RequestHead } from "./http-parser.ts";
import type { RespondDecision } from "./http-types.ts";

/**
 * A request whose answer is ours (route's, or an error) and that may carry a body: close after
 * (`closeAfter`: the exchange already knows the connection closes).
 */
export function closesAfterAnswer(conn: ClientSide, req: RequestHead, closeAfter: boolean): boolean {
  return (
    req.body.kind !== "none" || !req.keepAlive || conn.clientEnded || closeAfter || req.method === "CONNECT"
  );
}

/** Writes route()'s own answer; whether the connection closes after it. */
export function answerRoute(
  conn: ClientSide,
  req: RequestHead,
  decision: RespondDecision,
  closeAfter: boolean,
): boolean {
  const close = closesAfterAnswer(conn, req, closeAfter);
  const headers = decision.headers ?? {};
  const body = decision.body ?? "";
  conn.client.write(localResponse(decision.status, headers, body, { close, head: req.method === "HEAD" }));
  return close;
}

/** route() threw or rejected: a route-error event, 500, and the connection closes. */
export function answerRouteError(conn: ClientSide, error: unknown): void {
  conn.ctx.onEvent({ kind: "route-error", message: describeError(error) });
  conn.client.write(errorResponse(500, "route-error", "no route decision", {}, { close: true }));
  conn.closeGracefully();
}

/** The upstream failed before any response byte: an upstream-error event, and 504 (timeout) or 502. */
export function answerUpstreamError(
  conn: ClientSide,
  req: RequestHead,
  kind: UpstreamErrorKind,
  message: string,
  target: DialTarget,
  close: boolean,
): void {
  const status = kind === "timeout" ? 504 : 502;
  conn.ctx.onEvent({ kind: "upstream-error", status, error: kind, message, target });
  conn.client.write(upstreamErrorResponse(kind, message, target, { close, head: req.method === "HEAD" }));
}
