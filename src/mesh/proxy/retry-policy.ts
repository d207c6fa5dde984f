// When a request whose pooled upstream connection died may be sent again (pure). A pooled connection
// can turn out dead (reset, EOF, the upstream's keep-alive timeout) before any byte of the response;
// the exchange (exchange.ts) then retries once on a fresh connection, but only when the upstream
// cannot have acted on the request already.

/** Methods a proxy may resend on a fresh connection (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * Whether a request whose pooled connection died before any response byte may be sent again.
 * Only what was sent can be sent again: the head and the body bytes coalesced into it, nothing
 * streamed after it. Then: an idempotent method, or a request with a body of which no byte was sent
 * yet (the upstream cannot have acted on a request it has not received whole). A request without a
 * body of another method (POST, PATCH) was complete, so it is not retried.
 */
export function retryable(method: string, hasBody: boolean, headBody: number, bodyOut: number): boolean {
  if (bodyOut > 0) return false;
  return IDEMPOTENT.has(method) || (hasBody && headBody === 0);
}
