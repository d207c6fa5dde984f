// Join tokens: what an edge presents once to become a node. A token is "lvjoin_<id>.<secret>";
// the cloud keeps only sha256(secret), an expiry and a use count, so a leaked database does not
// leak usable tokens. Consuming a token is one transaction: two edges can never share its last use.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Store } from "../store/store.ts";

export interface CreatedToken {
  id: string;
  token: string;
  expiresAt: string;
  uses: number;
}

export type ConsumeResult = { ok: true; id: string } | { ok: false; reason: string };

const hash = (secret: string) => createHash("sha256").update(secret).digest("hex");

/**
 * The longest a join token may live: 7 days. A join token makes a new node with nothing else, so a
 * forgotten one is a standing invitation; a fleet provisioned over weeks makes a new token.
 */
export const MAX_JOIN_TOKEN_TTL_MS = 7 * 24 * 3_600_000;
const MAX_JOIN_TOKEN_TTL_TEXT = "168h (7 days)";

/** Why a join token cannot live this long, or undefined. */
export function joinTokenTtlProblem(ttlMs: number): string | undefined {
  if (ttlMs <= 0) return "must be longer than 0";
  if (ttlMs > MAX_JOIN_TOKEN_TTL_MS)
    return `must be at most ${MAX_JOIN_TOKEN_TTL_TEXT}: a join token is a credential; make a new one when it runs out`;
  return undefined;
}

export function createJoinToken(
  store: Store,
  options: { ttlMs: number; uses: number; description?: string; now?: Date },
): CreatedToken {
  const problem = joinTokenTtlProblem(options.ttlMs);
  if (problem) throw new RangeError(`join token ttl ${problem}`);
  const now = options.now ?? new Date();
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(24).toString("base64url");
  const expiresAt = new Date(now.getTime() + options.ttlMs).toISOString();
  store.tx((db) =>
    db
      .query(
        "INSERT INTO join_tokens (id, secret_hash, description, expires_at, uses_left, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(id, hash(secret), options.description ?? "", expiresAt, options.uses, now.toISOString()),
  );
  return { id, token: `lvjoin_${id}.${secret}`, expiresAt, uses: options.uses };
}

/** Uses one use of the token, or says why it cannot be used. */
export function consumeJoinToken(store: Store, token: string, now = new Date()): ConsumeResult {
  const match = /^lvjoin_([0-9a-f]{12})\.([A-Za-z0-9_-]{32})$/.exec(token.trim());
  if (!match) return { ok: false, reason: "malformed join token (expected lvjoin_<id>.<secret>)" };
  const [, id = "", secret = ""] = match;
  return store.tx((db) => {
    const row = db
      .query<{ secret_hash: string; expires_at: string; uses_left: number }, [string]>(
        "SELECT secret_hash, expires_at, uses_left FROM join_tokens WHERE id = ?",
      )
      .get(id);
    const presented = Buffer.from(hash(secret));
    if (!row || !timingSafeEqual(presented, Buffer.from(row.secret_hash))) {
      return { ok: false, reason: "unknown join token" };
    }
    if (Date.parse(row.expires_at) <= now.getTime()) {
      return { ok: false, reason: `join token ${id} expired at ${row.expires_at}` };
    }
    if (row.uses_left <= 0) return { ok: false, reason: `join token ${id} is used up` };
    db.query("UPDATE join_tokens SET uses_left = uses_left - 1 WHERE id = ?").run(id);
    return { ok: true, id };
  });
}
