// Ports for `port: auto` workers. A port handed out must be free on the host, stay the same for
// the same worker across restarts (of the worker, of the agent, of the machine), and never be
// handed out twice, even by two agents sharing one host. The agents of one host therefore share
// a small SQLite file (default /run/levee/ports.db; LEVEE_PORT_REGISTRY overrides it) in which
// every allocation is one IMMEDIATE transaction; the port is probed with a real bind before it
// is recorded. /run is emptied by a reboot: the worker's port kept in the agent's own database is
// then offered as the preferred port and normally comes back unchanged.
//
// The file is shared with other processes, so nothing here waits for its lock synchronously: a
// busy_timeout would block this agent's whole event loop (MQTT, mesh proxy, health checks) while
// another agent holds the lock, and an agent frozen inside its transaction (SIGSTOP, a stalled
// VM) would hold it indefinitely. Reads need no lock (WAL); writes try the lock without waiting
// and retry on timers, and give up with a clear error after lockWaitMs (the worker backs off and
// tries again later).
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PermanentError, RecoverableError } from "../../../runtime/errors.ts";

export interface PortRange {
  min: number;
  max: number;
}

/** Below Linux's ephemeral range (32768-60999), so outgoing connections never take them. */
export const DEFAULT_PORT_RANGE: PortRange = { min: 20000, max: 29999 };

export function defaultRegistryPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LEVEE_PORT_REGISTRY) return env.LEVEE_PORT_REGISTRY;
  if (process.getuid?.() === 0) return "/run/levee/ports.db";
  const base = env.XDG_RUNTIME_DIR ?? join(tmpdir(), `levee-${process.getuid?.() ?? "user"}`);
  return join(base, "levee", "ports.db");
}

export class PortExhausted extends PermanentError {}

/** The registry stayed locked by another process for longer than the registry's lockWaitMs. */
export class PortRegistryBusy extends RecoverableError {}

/** How long a change waits for another agent's lock on the shared file. */
export const DEFAULT_LOCK_WAIT_MS = 10_000;
const RETRY_FIRST_MS = 2;
const RETRY_MAX_MS = 100;

export class PortRegistry {
  private readonly db: Database;

  constructor(
    path: string,
    /** This agent (its data dir, absolute): owner of its allocations. */
    private readonly owner: string,
    private readonly range: PortRange = DEFAULT_PORT_RANGE,
    private readonly isFree: (port: number) => boolean = probePort,
    private readonly lockWaitMs = DEFAULT_LOCK_WAIT_MS,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    this.db = new Database(path, { create: true, strict: true });
    // Only while the agent starts (before it serves anything): creating the file and its table.
    this.db.run("PRAGMA busy_timeout = 10000");
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run(`CREATE TABLE IF NOT EXISTS ports (
      port INTEGER PRIMARY KEY, owner TEXT NOT NULL, worker TEXT NOT NULL, allocated_at TEXT NOT NULL,
      UNIQUE (owner, worker)) STRICT`);
    this.db.run("PRAGMA busy_timeout = 0");
  }

  /**
   * The port of a worker ("service/index"): the one it has, else `preferred` if nobody else holds
   * it (probed unless `held`: our own running worker listens on it), else a free one.
   */
  async allocate(worker: string, preferred?: { port: number; held: boolean }): Promise<number> {
    const known = await this.retrying(() => this.portOf(worker));
    if (known !== undefined) return known;
    return this.changing(() => this.allocateLocked(worker, preferred));
  }

  /**
   * A new port for a worker whose current instance keeps its port a while longer (update: surge):
   * the old port is still bound, so the probe never hands it out again until it is released.
   */
  reallocate(worker: string): Promise<number> {
    return this.changing(() => {
      const old = this.portOf(worker);
      this.db.query("DELETE FROM ports WHERE owner = ? AND worker = ?").run(this.owner, worker);
      // Never the old port again, even when its instance has not bound it (yet, or ever).
      return this.allocateLocked(worker, undefined, old);
    });
  }

  /** Frees the ports of this agent's workers that are not in `keep`. */
  releaseExcept(keep: ReadonlySet<string>): Promise<void> {
    return this.changing(() => {
      const rows = this.db
        .query<{ worker: string }, [string]>("SELECT worker FROM ports WHERE owner = ?")
        .all(this.owner);
      const drop = this.db.query("DELETE FROM ports WHERE owner = ? AND worker = ?");
      for (const row of rows) if (!keep.has(row.worker)) drop.run(this.owner, row.worker);
    });
  }

  close(): void {
    this.db.close();
  }

  private portOf(worker: string): number | undefined {
    return this.db
      .query<{ port: number }, [string, string]>("SELECT port FROM ports WHERE owner = ? AND worker = ?")
      .get(this.owner, worker)?.port;
  }

  /** `fn` in an IMMEDIATE transaction, the lock taken without blocking the event loop. */
  private changing<T>(fn: () => T): Promise<T> {
    return this.retrying(() => this.db.transaction(fn).immediate());
  }

  /** Runs `fn` until it does not meet a locked database, sleeping between tries, up to lockWaitMs. */
  private async retrying<T>(fn: () => T): Promise<T> {
    const deadline = performance.now() + this.lockWaitMs;
    let delay = RETRY_FIRST_MS;
    for (;;) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (performance.now() >= deadline) {
          throw new PortRegistryBusy(
            `the host's port registry ${this.db.filename} stayed locked by another levee agent for ${Math.round(this.lockWaitMs / 1000)} s`,
          );
        }
        await Bun.sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Inside the write transaction: the worker's port, a preferred one, or a free one. */
  private allocateLocked(
    worker: string,
    preferred?: { port: number; held: boolean },
    avoid?: number,
  ): number {
    const mine = this.portOf(worker);
    if (mine !== undefined) return mine;
    this.reclaimAbandoned();
    const taken = new Set(
      this.db
        .query<{ port: number }, []>("SELECT port FROM ports")
        .all()
        .map((r) => r.port),
    );
    if (avoid !== undefined) taken.add(avoid);
    if (preferred && !taken.has(preferred.port) && (preferred.held || this.isFree(preferred.port))) {
      return this.record(preferred.port, worker);
    }
    const size = this.range.max - this.range.min + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = this.range.min + ((start + i) % size);
      if (!taken.has(port) && this.isFree(port)) return this.record(port, worker);
    }
    throw new PortExhausted(
      `no free port left in ${this.range.min}-${this.range.max} for worker ${worker} (${taken.size} handed out on this host)`,
    );
  }

  private record(port: number, worker: string): number {
    this.db
      .query("INSERT INTO ports (port, owner, worker, allocated_at) VALUES (?, ?, ?, ?)")
      .run(port, this.owner, worker, new Date().toISOString());
    return port;
  }

  /** Allocations of agents whose data dir is gone (a removed test or device role) are freed. */
  private reclaimAbandoned(): void {
    const owners = this.db.query<{ owner: string }, []>("SELECT DISTINCT owner FROM ports").all();
    for (const { owner } of owners) {
      if (owner !== this.owner && !existsSync(join(owner, "levee.db"))) {
        this.db.query("DELETE FROM ports WHERE owner = ?").run(owner);
      }
    }
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}

/** Whether a TCP port can be bound on every address right now. */
export function probePort(port: number): boolean {
  try {
    const listener = Bun.listen({ hostname: "0.0.0.0", port, socket: { data() {} } });
    listener.stop(true);
    return true;
  } catch {
    return false;
  }
}
