// Upstream connections of the HTTP proxy, kept alive between requests: idle connections per dial target
// (most recently used first, at most maxIdlePerKey, closed after idleTimeoutMs), new ones from the
// Dialer. A connection registers its Duplex handlers once and passes events to whoever owns it now (the
// request being forwarded), so it moves between requests without re-registering anything; while idle,
// any byte or close from the upstream retires it. Each connection carries its own response parser
// (response-reader.ts), as each client connection carries its request parser.
import type { Dialer, DialTarget, Duplex } from "../contracts.ts";
import { ResponseReader } from "./response-reader.ts";

/** The request currently using an upstream connection. */
export interface UpstreamOwner {
  upstreamData(chunk: Uint8Array): void;
  upstreamDrain(): void;
  upstreamEnd(): void;
  upstreamClose(error?: Error): void;
}

export interface PoolOptions {
  /** Idle connections kept per target. Default 32. */
  maxIdlePerKey: number;
  /** An idle connection is closed after this long (keep it below the upstreams' own keep-alive). Default 4 s. */
  idleTimeoutMs: number;
  /** A dial that takes longer fails with a timeout. Default 5 s. */
  connectTimeoutMs: number;
  /**
   * TCP keep-alive on every upstream connection, first probe after this long idle (then 10 probes a
   * second apart): an upstream that vanished silently fails the request waiting on it in about 11 s
   * (retried once when safe) instead of at the response timeout. Default 1 s; 0: off.
   */
  keepAliveMs: number;
}
const DEFAULT_POOL: PoolOptions = {
  maxIdlePerKey: 32,
  idleTimeoutMs: 4_000,
  connectTimeoutMs: 5_000,
  keepAliveMs: 1_000,
};

/** One key per place a connection goes to (a local port, or a node's service through the transport). */
export function targetKey(target: DialTarget): string {
  if (target.kind === "local") return `local:${target.port}`;
  return `node:${target.node}/${target.service}${target.forwarded ? "/forwarded" : ""}`;
}

export class UpstreamConn {
  owner: UpstreamOwner | null = null;
  /** This connection's parser: the responses it carries are read here (one exchange at a time). */
  readonly reader = new ResponseReader();
  /** Served at least one request before the current one. */
  reused = false;
  /** The upstream sent FIN: the connection cannot carry another request. */
  ended = false;
  closed = false;
  idleSince = 0;

  constructor(
    readonly duplex: Duplex,
    readonly key: string,
    private readonly pool: UpstreamPool,
  ) {
    duplex.onData((chunk) => {
      if (this.owner !== null) this.owner.upstreamData(chunk);
      else this.retire(); // bytes nobody asked for: the connection is out of step
    });
    duplex.onDrain(() => this.owner?.upstreamDrain());
    duplex.onEnd(() => {
      this.ended = true;
      if (this.owner !== null) this.owner.upstreamEnd();
      else this.retire();
    });
    duplex.onClose((error) => {
      this.closed = true;
      this.pool.forget(this);
      this.owner?.upstreamClose(error);
    });
  }

  /** Closes it for good (an idle connection, or one that cannot carry another request). */
  retire(error?: Error): void {
    this.owner = null;
    this.pool.forget(this);
    if (!this.closed) this.duplex.destroy(error);
  }
}

export class UpstreamPool {
  readonly options: PoolOptions;
  private readonly idle = new Map<string, UpstreamConn[]>();
  private readonly timer: ReturnType<typeof setInterval>;
  /** Counters for tests and metrics. */
  readonly stats = { dials: 0, reuses: 0, dialFailures: 0 };

  constructor(
    private readonly dialer: Dialer,
    options: Partial<PoolOptions> = {},
  ) {
    this.options = { ...DEFAULT_POOL, ...options };
    this.timer = setInterval(() => this.sweep(Date.now()), Math.min(1000, this.options.idleTimeoutMs));
    this.timer.unref?.();
  }

  /**
   * An idle connection to this target, or null. The target's list stays even when empty: a
   * connection taken for a request usually comes back after it, and dropping the list only to make
   * a new one then is a Map delete, an array and a Map set per request (the sweep drops lists that
   * stay empty).
   */
  take(key: string): UpstreamConn | null {
    const list = this.idle.get(key);
    if (list === undefined) return null;
    while (list.length > 0) {
      const conn = list.pop() as UpstreamConn;
      if (conn.closed) continue;
      conn.reused = true;
      this.stats.reuses++;
      return conn;
    }
    return null;
  }

  /** A new connection (not pooled until released). */
  async dial(target: DialTarget, key: string): Promise<UpstreamConn> {
    this.stats.dials++;
    try {
      const duplex = await this.dialer.dial(target, AbortSignal.timeout(this.options.connectTimeoutMs));
      if (this.options.keepAliveMs > 0) duplex.keepAlive?.(this.options.keepAliveMs);
      return new UpstreamConn(duplex, key, this);
    } catch (error) {
      this.stats.dialFailures++;
      throw error;
    }
  }

  /** Back to the idle list after a complete exchange (or closed when the list is full). */
  release(conn: UpstreamConn): void {
    conn.owner = null;
    if (conn.closed) return;
    let list = this.idle.get(conn.key);
    if (list === undefined) {
      list = [];
      this.idle.set(conn.key, list);
    }
    if (list.length >= this.options.maxIdlePerKey) {
      conn.duplex.end();
      return;
    }
    conn.idleSince = Date.now();
    list.push(conn);
  }

  forget(conn: UpstreamConn): void {
    const list = this.idle.get(conn.key);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(conn.key);
  }

  idleCount(key?: string): number {
    if (key !== undefined) return this.idle.get(key)?.length ?? 0;
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /** Closes connections idle for longer than the idle timeout; drops the targets' empty lists. */
  sweep(now: number): void {
    const limit = now - this.options.idleTimeoutMs;
    for (const [key, list] of [...this.idle]) {
      for (const conn of [...list]) if (conn.idleSince <= limit) conn.retire();
      if (list.length === 0) this.idle.delete(key);
    }
  }

  /** Closes every idle connection and stops the sweeper. */
  close(): void {
    clearInterval(this.timer);
    for (const list of [...this.idle.values()]) for (const conn of [...list]) conn.retire();
    this.idle.clear();
  }
}
