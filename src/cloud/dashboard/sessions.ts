// The dashboard's login sessions, in the cloud's memory: a session id is 32 random bytes handed to
// the browser once (in its cookie) and kept here only as its SHA-256, so a heap dump or a log of this
// map holds nothing a browser could present. A session ends at logout, after `idleMs` without a
// request, or `maxMs` after login, whichever comes first; the number of sessions is bounded (the
// oldest goes first). A cloud restart ends every session: the admin logs in again.
import { createHash, randomBytes } from "node:crypto";

export interface SessionOptions {
  /** Idle time after which a session ends (default 12 h). */
  idleMs?: number;
  /** Longest life of a session (default 7 days). */
  maxMs?: number;
  /** Most sessions at once (default 1,000). */
  maxSessions?: number;
  now?: () => number;
}

interface Session {
  createdAt: number;
  lastUsedAt: number;
}

/** The cookie the session id travels in. */
export const SESSION_COOKIE = "levee_session";

const hashOf = (id: string): string => createHash("sha256").update(id).digest("hex");

export class DashboardSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(options: SessionOptions = {}) {
    this.idleMs = options.idleMs ?? 12 * 3600_000;
    this.maxMs = options.maxMs ?? 7 * 24 * 3600_000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** A new session: its id, to be sent to the browser and never stored. */
  create(): string {
    const id = randomBytes(32).toString("base64url");
    const now = this.now();
    this.sweep(now);
    // Map keeps insertion order: the first key is the oldest session.
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    this.sessions.set(hashOf(id), { createdAt: now, lastUsedAt: now });
    return id;
  }

  /** Whether `id` is a live session (and marks it used). */
  touch(id: string | undefined): boolean {
    if (!id || id.length > 100) return false;
    const key = hashOf(id);
    const session = this.sessions.get(key);
    if (!session) return false;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(key);
      return false;
    }
    session.lastUsedAt = now;
    return true;
  }

  /** Ends a session (logout). */
  end(id: string | undefined): void {
    if (id) this.sessions.delete(hashOf(id));
  }

  /** Live sessions. */
  count(): number {
    this.sweep(this.now());
    return this.sessions.size;
  }

  /** Seconds a fresh cookie may live (its Max-Age): the longest a session can. */
  get cookieMaxAgeSeconds(): number {
    return Math.floor(this.maxMs / 1000);
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastUsedAt > this.idleMs || now - session.createdAt > this.maxMs;
  }

  private sweep(now: number): void {
    for (const [key, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(key);
  }
}
