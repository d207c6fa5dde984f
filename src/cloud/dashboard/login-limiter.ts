// Failed dashboard logins, limited: each client address may fail `perClient` times per window, and
// all clients together `total` times (a guesser spread over many addresses still gets few tries).
// Once over, every login attempt from that client (or from anyone, for the total) is refused with
// the seconds to wait, without looking at the token. The admin token has 256 random bits, so this
// is about log noise and load more than about guessing; a success does not reset the count.
export interface LoginLimiterOptions {
  windowMs?: number;
  perClient?: number;
  total?: number;
  now?: () => number;
  /** Most client addresses remembered (default 10,000; beyond, the oldest are forgotten). */
  maxClients?: number;
}

interface Window {
  start: number;
  failures: number;
}

export class LoginLimiter {
  private readonly clients = new Map<string, Window>();
  private all: Window = { start: 0, failures: 0 };
  private readonly windowMs: number;
  private readonly perClient: number;
  private readonly total: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(options: LoginLimiterOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.perClient = options.perClient ?? 5;
    this.total = options.total ?? 30;
    this.maxClients = options.maxClients ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds `client` must wait before trying again, or 0 when it may try now. */
  retryAfterSeconds(client: string): number {
    const now = this.now();
    const own = this.current(this.clients.get(client), now);
    const all = this.current(this.all, now);
    const waits = [
      own && own.failures >= this.perClient ? own.start + this.windowMs - now : 0,
      all && all.failures >= this.total ? all.start + this.windowMs - now : 0,
    ];
    return Math.ceil(Math.max(...waits) / 1000);
  }

  /** Counts a failed attempt of `client`. */
  failed(client: string): void {
    const now = this.now();
    const own = this.current(this.clients.get(client), now) ?? { start: now, failures: 0 };
    own.failures++;
    this.clients.delete(client);
    this.clients.set(client, own);
    while (this.clients.size > this.maxClients) {
      const oldest = this.clients.keys().next().value;
      if (oldest === undefined) break;
      this.clients.delete(oldest);
    }
    this.all = this.current(this.all, now) ?? { start: now, failures: 0 };
    this.all.failures++;
  }

  private current(window: Window | undefined, now: number): Window | undefined {
    return window && now - window.start < this.windowMs ? window : undefined;
  }
}
