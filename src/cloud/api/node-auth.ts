// Authentication of routes that nodes call (artifact downloads, Config content, certificates, log
// uploads): the admin token as `Authorization: Bearer`, and/or a node's own MQTT credentials as
// HTTP Basic (username = node name),
// checked against the PBKDF2 hash kept in nodes.mqtt_password_hash. PBKDF2 is slow by design, so a
// successful check is remembered for a while, keyed by a digest of (name, password, stored hash):
// a node deleted or joined again with a new password no longer matches. Passwords are never logged.
import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { verifyPassword } from "../../protocol/mosquitto-password.ts";
import { bearerToken } from "../../runtime/token-file.ts";
import type { Store } from "../../store/store.ts";
import { tokenMatches } from "../admin-token.ts";
import { apiError } from "./errors.ts";

const CACHE_TTL_MS = 10 * 60_000;
const CACHE_MAX = 4096;

/** Who made a request: the admin, or a node. */
export type Caller = { kind: "admin" } | { kind: "node"; name: string };

export class NodeCredentials {
  private readonly verified = new Map<string, number>();
  private readonly lookup;

  constructor(
    store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.lookup = store.db.query<{ hash: string }, [string]>(
      "SELECT mqtt_password_hash AS hash FROM nodes WHERE name = ?",
    );
  }

  /** True when `password` is the node's MQTT password. */
  check(name: string, password: string): boolean {
    const row = this.lookup.get(name);
    if (!row) return false;
    const key = createHash("sha256").update(`${name}\0${password}\0${row.hash}`, "utf8").digest("base64");
    const until = this.verified.get(key);
    const now = this.now();
    if (until !== undefined && until > now) return true;
    if (!verifyPassword(password, row.hash)) return false;
    if (this.verified.size >= CACHE_MAX) this.evict(now);
    this.verified.set(key, now + CACHE_TTL_MS);
    return true;
  }

  private evict(now: number): void {
    for (const [key, until] of this.verified) if (until <= now) this.verified.delete(key);
    // Still full: forget the oldest half (Map keeps insertion order).
    let drop = this.verified.size >= CACHE_MAX ? this.verified.size / 2 : 0;
    for (const key of this.verified.keys()) {
      if (drop-- <= 0) break;
      this.verified.delete(key);
    }
  }
}

/** Parses `Basic base64(user:password)`; undefined when it is not that. */
export function parseBasic(header: string): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const text = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Lets the admin token or a node's credentials through; the caller is in c.get("caller"). */
export function requireAdminOrNode(
  adminToken: string,
  nodes: NodeCredentials,
): MiddlewareHandler<{ Variables: { caller: Caller } }> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const bearer = bearerToken(header);
    if (bearer !== undefined && tokenMatches(bearer, adminToken)) {
      c.set("caller", { kind: "admin" });
      return next();
    }
    const basic = parseBasic(header);
    if (basic && nodes.check(basic.user, basic.password)) {
      c.set("caller", { kind: "node", name: basic.user });
      return next();
    }
    c.header("WWW-Authenticate", 'Bearer realm="levee", Basic realm="levee"');
    if (!bearer && !basic) {
      return apiError(
        c,
        401,
        "missing Authorization: Bearer <admin token>, or Basic with a node's MQTT credentials",
      );
    }
    return apiError(c, 401, bearer ? "invalid token" : "invalid node credentials");
  };
}

/** Only a node's own MQTT credentials (HTTP Basic); the node's name is in c.get("node"). */
export function requireNode(nodes: NodeCredentials): MiddlewareHandler<{ Variables: { node: string } }> {
  return async (c, next) => {
    const basic = parseBasic(c.req.header("authorization") ?? "");
    if (basic && nodes.check(basic.user, basic.password)) {
      c.set("node", basic.user);
      return next();
    }
    c.header("WWW-Authenticate", 'Basic realm="levee"');
    return apiError(
      c,
      401,
      basic ? "invalid node credentials" : "missing Authorization: Basic with the node's MQTT credentials",
    );
  };
}
