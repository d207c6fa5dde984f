// Simulated edges for scale and storm benchmarks: N joined nodes speaking levee's real sync
// protocol (docs/PROTOCOL.md) to a real cloud, in this process or in child processes.
//
//   ./node_modules/.bin/bun bench/sim-edges.ts --cloud http://127.0.0.77:7400 \
//       --admin-token-file /path/to/data-dir/admin.token --edges 1000 [--duration 60]
//
// Each simulated edge is a node that joined through the real join API (POST /api/v1/join with a
// join token of N uses; its own MQTT username and password), and then does what src/node/link/
// edge-link.ts does: connects with client id levee-<node> and a retained last will (presence
// offline), subscribes to its down topic, publishes retained presence online (will and presence
// carry the same ts) and hello with its stored (epoch, revision, hash), repeated after [1, 2),
// [2, 4) ... s (src/protocol/hello-retry.ts) until a welcome answers it; on welcome it takes the heartbeat interval; on plan it decides
// accept/duplicate as decidePlan does, persists the plan (in memory), THEN publishes ack; it
// sends heartbeats every heartbeatSeconds and reconnects with the real backoff (src/runtime/
// backoff.ts: full jitter, 1 s base, 60 s cap). Every message is built with src/protocol/messages.ts
// (newMessage/encodeMessage) and every received one is validated with decodeMessage, as the edge
// does. Like `levee edge` it also subscribes to the retained mesh catalog and to its log-request
// topic (--no-catalog: only its down topic); catalogs received are counted, not parsed. With
// --report-status it also reports its workers as running after each plan (a status message), as a
// converged supervisor would. mqtts:// brokers work too (the CA from the join).
//
// Transport: by default a minimal MQTT 3.1.1 client on Bun.connect (bench/mqtt-lite.ts), about
// 10 KB of simulator memory per edge; --transport mqttjs runs the edge's own MqttSession
// (mqtt.js) per simulated edge instead: about 30 KB per edge and twice the CPU (BENCHMARKS.md).
//
// As a library (bench/control-plane.ts): joinSimNodes() joins nodes, SimFleet.start() runs them
// and collects, per node, when it was connected, welcomed, and when it sent each ack (with the
// value of a marker env variable found in the plan, so that an apply can be matched to acks).
// Times are wall-clock ms (performance.timeOrigin + performance.now()) in every process.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { nodeClientId } from "../src/protocol/acl.ts";
import { HELLO_RETRY_CAP_MS, helloRetryDelayMs } from "../src/protocol/hello-retry.ts";
import {
  type Body,
  decodeMessage,
  encodeMessage,
  type MessageType,
  newMessage,
  type PlanMessage,
  type WorkerStatus,
} from "../src/protocol/messages.ts";
import type { MqttSession } from "../src/protocol/mqtt-session.ts";
import { CATALOG_TOPIC, downTopic, logsTopic, presenceTopic, upTopic } from "../src/protocol/topics.ts";
import { parseWatchSignal, TRAFFIC_FORMAT, WATCH_TOPIC } from "../src/protocol/traffic.ts";
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from "../src/runtime/backoff.ts";
import type { Logger } from "../src/runtime/log.ts";
import { LiteConn, type LiteHandlers } from "./mqtt-lite.ts";

/** Wall-clock ms with sub-ms precision, comparable between processes on this host. */
export const now = (): number => performance.timeOrigin + performance.now();

// ---- joining ---------------------------------------------------------------------------------

export interface SimIdentity {
  name: string;
  username: string;
  password: string;
  /** The broker URL the join answered (mqtt://host:port, or mqtts:// for a TLS broker). */
  mqttUrl: string;
  /** For mqtts://: the CA (PEM) the join answered, to verify the broker with. */
  ca?: string | null;
}

export interface JoinOptions {
  /** Cloud API, e.g. http://127.0.0.77:7400 */
  cloud: string;
  adminToken: string;
  names: string[];
  labels?: Record<string, string>;
  /** Join requests in flight at once (default 16). */
  concurrency?: number;
  onProgress?: (joined: number) => void;
  /** Stop starting new joins at this time (ms, now()); the result then holds the nodes joined so far. */
  deadline?: number;
}

/** A join token with `uses` uses (POST /api/v1/tokens). */
export async function createJoinToken(cloud: string, adminToken: string, uses: number): Promise<string> {
  const res = await fetch(new URL("/api/v1/tokens", cloud), {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ uses: Math.max(1, uses), ttl: "2h", description: "bench/sim-edges.ts" }),
  });
  const body = (await res.json()) as { token?: string; error?: string };
  if (!res.ok || !body.token) throw new Error(`cannot create a join token: ${body.error ?? res.status}`);
  return body.token;
}

/** A made-up address for a simulated node (shown in its status; nothing listens there). */
function fakeAddress(i: number): string {
  return `127.${200 + ((i >> 16) & 31)}.${(i >> 8) & 255}.${i & 255}`;
}

/**
 * Joins each name as a new node through POST /api/v1/join (one join token with names.length
 * uses), `concurrency` requests at a time. Returns the identities in the order of `names`
 * (without the names not reached when the deadline passed).
 */
export async function joinSimNodes(o: JoinOptions): Promise<{ identities: SimIdentity[]; ms: number }> {
  const started = now();
  const token = await createJoinToken(o.cloud, o.adminToken, o.names.length);
  const identities: SimIdentity[] = new Array(o.names.length);
  const url = new URL("/api/v1/join", o.cloud);
  let next = 0;
  let done = 0;
  const one = async (i: number) => {
    const name = o.names[i] as string;
    const body = JSON.stringify({
      v: 1,
      token,
      node: {
        name,
        labels: o.labels ?? {},
        addresses: [fakeAddress(i)],
        agentVersion: "sim",
        arch: "sim",
      },
    });
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const answer = (await res.json()) as {
          error?: string;
          mqtt?: { url: string; username: string; password: string; ca?: string | null };
        };
        if (res.status !== 201 || !answer.mqtt)
          throw new Error(`join of ${name} refused: HTTP ${res.status} ${answer.error ?? ""}`);
        identities[i] = {
          name,
          username: answer.mqtt.username,
          password: answer.mqtt.password,
          mqttUrl: answer.mqtt.url,
          ...(answer.mqtt.ca ? { ca: answer.mqtt.ca } : {}),
        };
        return;
      } catch (err) {
        // A refusal is final; a connection error (the cloud's listen backlog) is retried.
        if ((err as Error).message.startsWith("join of") || attempt >= 3) throw err;
        await Bun.sleep(100 * (attempt + 1));
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency ?? 16, o.names.length) }, async () => {
      while (next < o.names.length && (o.deadline === undefined || now() < o.deadline)) {
        await one(next++);
        done++;
        if (done % 500 === 0) o.onProgress?.(done);
      }
    }),
  );
  // (with a deadline, the names not reached are holes)
  return { identities: identities.filter((id) => id !== undefined), ms: now() - started };
}

// ---- one simulated edge ----------------------------------------------------------------------

export interface EdgeRunOptions {
  transport: "lite" | "mqttjs";
  /** Env variable whose value (found in the plan's worker templates) is reported with each ack. */
  markerEnv: string;
  /** After accepting a plan, report its workers as running (a status message). */
  reportStatus: boolean;
  /** Also subscribe to the mesh catalog and the log-request topic, as `levee edge` does. */
  catalog: boolean;
  /**
   * Also follow the dashboard's watch signal and, while it asks, send a traffic report every
   * intervalSeconds as `levee edge` does (one service and one link, made-up counts).
   */
  trafficReports: boolean;
  /** MQTT keepalive (the edge's MqttSession uses 30 s). */
  keepaliveSeconds: number;
  /** First connects per second in one process (a fleet coming online); 0 = all at once. */
  connectRatePerSec: number;
  backoff: BackoffOptions;
  agentVersion: string;
}

export const DEFAULT_RUN_OPTIONS: EdgeRunOptions = {
  transport: "lite",
  markerEnv: "BENCH_MARK",
  reportStatus: false,
  catalog: true,
  trafficReports: false,
  keepaliveSeconds: 30,
  connectRatePerSec: 0,
  backoff: DEFAULT_BACKOFF,
  agentVersion: "sim",
};

/** What a process reports: [kind, node index, time, revision, marker]. */
export type SimEvent =
  | [kind: "ready", index: number, t: number]
  | [kind: "welcome", index: number, t: number, heartbeatSeconds: number]
  | [kind: "down", index: number, t: number]
  | [kind: "ack", index: number, t: number, revision: number, marker: string];

export interface EngineCounters {
  plans: number;
  duplicates: number;
  dropped: number;
  heartbeats: number;
  statuses: number;
  connectFailures: number;
  helloRetries: number;
  /** Catalog messages received, and their bytes. */
  catalogs: number;
  catalogBytes: number;
}

interface StoredPlanLite {
  epoch: string;
  revision: number;
  hash: string;
  plan: Record<string, unknown>;
}

const silentLog: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLog,
};

function markerOf(plan: Record<string, unknown>, key: string): string {
  const services = (plan.services ?? []) as {
    workers?: { template?: { env?: Record<string, unknown> } }[];
  }[];
  for (const s of services) {
    for (const w of s.workers ?? []) {
      const v = w.template?.env?.[key];
      if (typeof v === "string") return v;
    }
  }
  return "";
}

class SimEdge {
  private readonly up: string;
  private readonly down: string;
  /** What it subscribes to: its down topic (first), and as configured the catalog and log requests. */
  private readonly subscriptions: string[];
  private readonly presenceTopic: string;
  private readonly host: string;
  private readonly port: number;
  private readonly backoff: Backoff;
  private plan: StoredPlanLite | undefined;
  private heartbeatSeconds = 5;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private trafficTimer: ReturnType<typeof setInterval> | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the cloud answered this connection's hello. */
  private welcomed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private connectionTs = "";
  private ready = false;
  private stopped = false;
  private connectedAt = 0;
  private statusSeq = 0;
  private conn: LiteConn | undefined;
  private session: MqttSession | undefined;
  private readonly bootId = randomBytes(8).toString("hex");

  constructor(
    readonly index: number,
    readonly id: SimIdentity,
    private readonly engine: EdgeEngine,
  ) {
    this.up = upTopic(id.name);
    this.down = downTopic(id.name);
    this.subscriptions = engine.options.catalog
      ? [this.down, CATALOG_TOPIC, logsTopic(id.name)]
      : [this.down];
    if (engine.options.trafficReports) this.subscriptions.push(WATCH_TOPIC);
    this.presenceTopic = presenceTopic(id.name);
    const u = new URL(id.mqttUrl);
    this.host = u.hostname;
    this.port = Number(u.port || (u.protocol === "mqtts:" ? 8883 : 1883));
    this.backoff = new Backoff(engine.options.backoff);
  }

  private presence(online: boolean, ts: string): Buffer {
    return encodeMessage({ ...newMessage(this.id.name, { type: "presence", online }), ts });
  }

  private publish(topic: string, payload: Uint8Array, retain = false): boolean {
    if (this.session) return this.session.publish(topic, payload as Buffer, retain);
    return this.conn?.publish(topic, payload, retain) ?? false;
  }

  private send<T extends MessageType>(body: Body<T> & { type: T }): boolean {
    return this.publish(this.up, encodeMessage(newMessage<T>(this.id.name, body)));
  }

  async start(): Promise<void> {
    if (this.engine.options.transport === "mqttjs") {
      const { MqttSession } = await import("../src/protocol/mqtt-session.ts");
      this.session = new MqttSession({
        url: this.id.mqttUrl,
        clientId: nodeClientId(this.id.name),
        username: this.id.username,
        password: this.id.password,
        will: () => {
          this.connectionTs = new Date().toISOString();
          return {
            topic: this.presenceTopic,
            payload: this.presence(false, this.connectionTs),
            retain: true,
          };
        },
        ...(this.id.ca ? { tls: { ca: this.id.ca } } : {}),
        subscriptions: this.subscriptions,
        log: silentLog,
        backoff: this.engine.options.backoff,
        keepaliveSeconds: this.engine.options.keepaliveSeconds,
        onReady: () => this.onReady(),
        onMessage: (topic, payload) => this.onMessage(topic, payload),
        onDown: () => this.onDown(),
      });
      this.session.start();
      return;
    }
    this.connect();
  }

  private connect(): void {
    this.retry = undefined;
    if (this.stopped) return;
    this.connectionTs = new Date().toISOString();
    this.conn = new LiteConn(
      {
        host: this.host,
        port: this.port,
        clientId: nodeClientId(this.id.name),
        username: this.id.username,
        password: this.id.password,
        keepaliveSeconds: this.engine.options.keepaliveSeconds,
        connectTimeoutMs: 10_000,
        will: { topic: this.presenceTopic, payload: this.presence(false, this.connectionTs), retain: true },
        ...(this.id.ca && this.id.mqttUrl.startsWith("mqtts:") ? { tls: { ca: this.id.ca } } : {}),
      },
      LITE_HANDLERS,
      this,
    );
    this.conn.start();
  }

  // lite transport callbacks
  liteConnected(conn: LiteConn): void {
    if (conn === this.conn) conn.subscribe(this.subscriptions);
  }

  liteSubscribed(conn: LiteConn, granted: number[]): void {
    if (conn !== this.conn) return;
    if (granted.some((g) => g > 2)) {
      conn.fail("subscription refused");
      return;
    }
    this.onReady();
  }

  liteClosed(conn: LiteConn, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    const wasReady = this.ready;
    if (wasReady) this.onDown();
    else this.engine.counters.connectFailures++;
    if (this.stopped) return;
    if (wasReady && now() - this.connectedAt >= 10_000) this.backoff.reset();
    this.retry = setTimeout(() => this.connect(), this.backoff.next());
    void reason;
  }

  private onReady(): void {
    this.ready = true;
    this.connectedAt = now();
    this.publish(this.presenceTopic, this.presence(true, this.connectionTs), true);
    this.welcomed = false;
    this.sendHello();
    this.retryHello(0);
    this.startHeartbeats();
    this.engine.emit(["ready", this.index, now()]);
  }

  private sendHello(): void {
    this.send({
      type: "hello",
      epoch: this.plan?.epoch ?? null,
      appliedRevision: this.plan?.revision ?? 0,
      planHash: this.plan?.hash ?? null,
      agentVersion: this.engine.options.agentVersion,
      bootId: this.bootId,
      addresses: [fakeAddress(this.index)],
    });
  }

  /** As the edge link: until a welcome answers, hello again after [1, 2), [2, 4), ... s (≤ 60 s). */
  private retryHello(attempt: number): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const delay = helloRetryDelayMs(attempt, HELLO_RETRY_CAP_MS);
    this.helloTimer = setTimeout(() => {
      this.helloTimer = undefined;
      if (this.welcomed || !this.ready) return;
      this.engine.counters.helloRetries++;
      this.sendHello();
      this.retryHello(attempt + 1);
    }, delay);
  }

  private onDown(): void {
    this.ready = false;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.heartbeatTimer = undefined;
    this.helloTimer = undefined;
    this.engine.emit(["down", this.index, now()]);
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      this.engine.counters.heartbeats++;
      this.send({
        type: "heartbeat",
        epoch: this.plan?.epoch ?? null,
        appliedRevision: this.plan?.revision ?? 0,
        outboxDepth: 0,
      });
    }, this.heartbeatSeconds * 1000);
  }

  /** The dashboard's watch signal: traffic reports on (every intervalSeconds) or off. */
  private watch(payload: Buffer): void {
    if (this.trafficTimer) clearInterval(this.trafficTimer);
    this.trafficTimer = undefined;
    const parsed = parseWatchSignal(payload);
    if (!parsed.ok || !parsed.signal.watching || this.stopped) return;
    const intervalMs = parsed.signal.intervalSeconds * 1000;
    this.trafficTimer = setInterval(() => {
      this.send({
        type: "traffic",
        format: TRAFFIC_FORMAT,
        windowMs: intervalMs,
        latencyBounds: [0.005, 0.025, 0.1],
        services: [{ service: "camera", requests: 20, errors: 1, latency: [12, 6, 2, 0] }],
        links: [
          {
            peer: `sim-${this.index + 1}`,
            via: "direct",
            requests: 10,
            errors: 0,
            bytesIn: 4000,
            bytesOut: 40_000,
          },
        ],
      });
    }, intervalMs);
    this.trafficTimer.unref?.();
  }

  onMessage(topic: string, payload: Buffer): void {
    if (topic === WATCH_TOPIC) {
      this.watch(payload);
      return;
    }
    if (topic === CATALOG_TOPIC) {
      this.engine.counters.catalogs++;
      this.engine.counters.catalogBytes += payload.length;
      return;
    }
    const decoded = topic === this.down ? decodeMessage(this.id.name, payload, "down") : undefined;
    if (!decoded?.ok) {
      this.engine.counters.dropped++;
      return;
    }
    const msg = decoded.msg;
    switch (msg.type) {
      case "welcome":
        this.welcomed = true;
        if (this.helloTimer) clearTimeout(this.helloTimer);
        this.helloTimer = undefined;
        this.engine.emit(["welcome", this.index, now(), msg.heartbeatSeconds]);
        if (msg.heartbeatSeconds !== this.heartbeatSeconds) {
          this.heartbeatSeconds = msg.heartbeatSeconds;
          if (this.ready) this.startHeartbeats();
        }
        return;
      case "plan":
        this.handlePlan(msg);
        return;
      case "status-ack":
        return;
      default:
        this.engine.counters.dropped++;
    }
  }

  private handlePlan(msg: PlanMessage): void {
    const current = this.plan;
    // decidePlan (src/node/link/plan-store.ts): same epoch and not newer → only ack again.
    if (current && current.epoch === msg.epoch && msg.revision <= current.revision) {
      this.engine.counters.duplicates++;
      this.send({ type: "ack", epoch: current.epoch, revision: current.revision, hash: current.hash });
      return;
    }
    // "Persist" (in memory), THEN ack.
    this.plan = { epoch: msg.epoch, revision: msg.revision, hash: msg.hash, plan: msg.plan };
    this.engine.counters.plans++;
    this.send({ type: "ack", epoch: msg.epoch, revision: msg.revision, hash: msg.hash });
    this.engine.emit([
      "ack",
      this.index,
      now(),
      msg.revision,
      markerOf(msg.plan, this.engine.options.markerEnv),
    ]);
    if (this.engine.options.reportStatus) this.reportWorkers(msg.plan);
  }

  private reportWorkers(plan: Record<string, unknown>): void {
    const since = new Date().toISOString();
    const workers: WorkerStatus[] = [];
    for (const s of (plan.services ?? []) as { name: string; workers: { index: number }[] }[]) {
      for (const w of s.workers) {
        workers.push({
          service: s.name,
          index: w.index,
          phase: "running",
          ready: true,
          restarts: 0,
          message: "",
          exitCode: null,
          signal: null,
          since,
        });
      }
    }
    if (workers.length === 0) return;
    this.engine.counters.statuses++;
    this.send({ type: "status", seq: ++this.statusSeq, workers });
  }

  /** Network failure: the broker publishes the will; the edge reconnects with its backoff. */
  drop(): void {
    if (this.session) {
      const client = (this.session as unknown as { client?: { stream?: { destroy(): void } } }).client;
      client?.stream?.destroy();
      return;
    }
    this.conn?.drop();
  }

  /** Like `levee edge` stopping: presence offline, then DISCONNECT. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.trafficTimer) clearInterval(this.trafficTimer);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const final = this.presence(false, new Date().toISOString());
    if (this.session) {
      await this.session.close({ topic: this.presenceTopic, payload: final, retain: true }, 1000);
      return;
    }
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    conn.publish(this.presenceTopic, final, true);
    conn.disconnect();
  }
}

const LITE_HANDLERS: LiteHandlers = {
  onConnected: (conn) => (conn.owner as SimEdge).liteConnected(conn),
  onSubscribed: (conn, granted) => (conn.owner as SimEdge).liteSubscribed(conn, granted),
  onMessage: (conn, topic, payload) => (conn.owner as SimEdge).onMessage(topic, payload),
  onClosed: (conn, reason) => (conn.owner as SimEdge).liteClosed(conn, reason),
};

// ---- the edges of one process ----------------------------------------------------------------

/** The simulated edges of one process. */
export class EdgeEngine {
  readonly counters: EngineCounters = {
    plans: 0,
    duplicates: 0,
    dropped: 0,
    heartbeats: 0,
    statuses: 0,
    connectFailures: 0,
    helloRetries: 0,
    catalogs: 0,
    catalogBytes: 0,
  };
  private readonly edges: SimEdge[];

  constructor(
    nodes: [index: number, identity: SimIdentity][],
    readonly options: EdgeRunOptions,
    readonly emit: (event: SimEvent) => void,
  ) {
    this.edges = nodes.map(([i, id]) => new SimEdge(i, id, this));
  }

  async start(): Promise<void> {
    const rate = this.options.connectRatePerSec;
    const started = now();
    for (let k = 0; k < this.edges.length; k++) {
      if (rate > 0) {
        const due = started + (k * 1000) / rate;
        if (due - now() > 5) await Bun.sleep(due - now());
      }
      await (this.edges[k] as SimEdge).start();
    }
  }

  drop(): void {
    for (const e of this.edges) e.drop();
  }

  async close(): Promise<void> {
    await Promise.all(this.edges.map((e) => e.close()));
    // give the DISCONNECTs a moment to be written
    await Bun.sleep(200);
  }
}

// ---- the fleet: child processes (or this one) and what they report ------------------------------

export interface SimFleetOptions extends Partial<EdgeRunOptions> {
  identities: SimIdentity[];
  /** Child processes to run the edges in; 0 = this process. Default: one per 2,500 edges, ≥ 1. */
  processes?: number;
  /** The bun executable for the children (default: this one). */
  bun?: string;
}

type ToChild =
  | { type: "start"; nodes: [number, SimIdentity][]; options: EdgeRunOptions }
  | { type: "drop" }
  | { type: "close" }
  | { type: "counters" };
type FromChild =
  | { type: "events"; events: SimEvent[] }
  | { type: "counters"; counters: EngineCounters }
  | { type: "closed" }
  | { type: "started" };

export interface ProcessUsage {
  pid: number;
  rssMB: number;
  cpuSeconds: number;
}

/** /proc/PID: VmRSS (MB) and user+system CPU seconds. */
export function processUsage(pid: number): ProcessUsage {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after the ")" of comm: state is field 3; utime 14, stime 15 (1-based)
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { pid, rssMB: rssKB / 1024, cpuSeconds: ticks / CLOCK_TICKS };
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export class SimFleet {
  readonly size: number;
  /** Per node: last time it became connected+subscribed (hello sent), welcomed, went down; 0 = never. */
  readonly readyAt: Float64Array;
  readonly welcomeAt: Float64Array;
  readonly downAt: Float64Array;
  private readonly up: Uint8Array;
  private upCount = 0;
  /** The heartbeat interval of the latest welcome. */
  heartbeatSeconds = 0;
  /** marker → per node the time it sent the ack of the plan carrying that marker (0 = not yet). */
  private readonly acks = new Map<string, { times: Float64Array; count: number }>();
  private readonly children: { proc: Subprocess; counters?: EngineCounters; closed?: () => void }[] = [];
  private engine: EdgeEngine | undefined;
  private waiters = new Set<() => void>();
  private counterWaiters: (() => void)[] = [];

  private constructor(size: number) {
    this.size = size;
    this.readyAt = new Float64Array(size);
    this.welcomeAt = new Float64Array(size);
    this.downAt = new Float64Array(size);
    this.up = new Uint8Array(size);
  }

  static async start(options: SimFleetOptions): Promise<SimFleet> {
    const fleet = new SimFleet(options.identities.length);
    const run: EdgeRunOptions = { ...DEFAULT_RUN_OPTIONS };
    for (const key of Object.keys(DEFAULT_RUN_OPTIONS) as (keyof EdgeRunOptions)[]) {
      if (options[key] !== undefined) (run as unknown as Record<string, unknown>)[key] = options[key];
    }
    const nodes = options.identities.map((id, i) => [i, id] as [number, SimIdentity]);
    const procs = options.processes ?? Math.max(1, Math.ceil(nodes.length / 2500));
    if (procs === 0) {
      fleet.engine = new EdgeEngine(nodes, run, (e) => fleet.onEvents([e]));
      void fleet.engine.start();
      return fleet;
    }
    const per = Math.ceil(nodes.length / procs);
    const started: Promise<void>[] = [];
    for (let p = 0; p < procs; p++) {
      const slice = nodes.slice(p * per, (p + 1) * per);
      if (slice.length === 0) break;
      let resolveStarted: () => void = () => {};
      started.push(new Promise<void>((r) => (resolveStarted = r)));
      const child: SimFleet["children"][number] = {
        proc: Bun.spawn([options.bun ?? process.execPath, join(import.meta.dir, "sim-edges.ts"), "--child"], {
          stdin: "ignore",
          stdout: "inherit",
          stderr: "inherit",
          serialization: "json",
          ipc: (message: FromChild) => {
            if (message.type === "events") fleet.onEvents(message.events);
            else if (message.type === "started") resolveStarted();
            else if (message.type === "counters") {
              child.counters = message.counters;
              fleet.counterWaiters.shift()?.();
            } else if (message.type === "closed") child.closed?.();
          },
        }),
      };
      fleet.children.push(child);
      // The rate is fleet-wide: each child gets its share.
      const share = run.connectRatePerSec > 0 ? run.connectRatePerSec / procs : 0;
      child.proc.send({
        type: "start",
        nodes: slice,
        options: { ...run, connectRatePerSec: share },
      } as ToChild);
    }
    // A child that dies before it started would leave the fleet waiting forever.
    const died = Promise.race(fleet.children.map((c) => c.proc.exited)).then((code) => {
      throw new Error(`a simulator process exited (code ${code}) before it started its edges`);
    });
    try {
      await Promise.race([Promise.all(started), died]);
    } catch (err) {
      fleet.kill();
      throw err;
    }
    void died.catch(() => {});
    return fleet;
  }

  /** Process ids of the simulator (the children, or this process). */
  pids(): number[] {
    return this.children.length > 0 ? this.children.map((c) => c.proc.pid) : [process.pid];
  }

  usage(): ProcessUsage[] {
    return this.pids().map(processUsage);
  }

  private onEvents(events: SimEvent[]): void {
    for (const e of events) {
      const i = e[1];
      switch (e[0]) {
        case "ready":
          this.readyAt[i] = e[2];
          if (!this.up[i]) {
            this.up[i] = 1;
            this.upCount++;
          }
          break;
        case "welcome":
          this.welcomeAt[i] = e[2];
          this.heartbeatSeconds = e[3];
          break;
        case "down":
          this.downAt[i] = e[2];
          if (this.up[i]) {
            this.up[i] = 0;
            this.upCount--;
          }
          break;
        case "ack": {
          const marker = e[4];
          let entry = this.acks.get(marker);
          if (!entry) {
            entry = { times: new Float64Array(this.size), count: 0 };
            this.acks.set(marker, entry);
          }
          if (entry.times[i] === 0) entry.count++;
          entry.times[i] = e[2];
          break;
        }
      }
    }
    for (const w of this.waiters) w();
  }

  /** Edges connected and subscribed right now. */
  connected(): number {
    return this.upCount;
  }

  /** Edges whose last welcome came at or after t. */
  welcomedSince(t: number): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if ((this.welcomeAt[i] as number) >= t) n++;
    return n;
  }

  ackedCount(marker: string): number {
    return this.acks.get(marker)?.count ?? 0;
  }

  /** Per node, when it acked the plan with this marker (0 = not yet). */
  ackTimes(marker: string): Float64Array {
    return this.acks.get(marker)?.times ?? new Float64Array(this.size);
  }

  /** Resolves when check() holds (re-checked on every report and every 50 ms); rejects after timeoutMs. */
  waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearInterval(poll);
        clearTimeout(timer);
        this.waiters.delete(test);
      };
      const test = () => {
        if (!check()) return;
        done();
        resolve();
      };
      const poll = setInterval(test, 50);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(test);
    });
  }

  /** Every edge loses its connection at once (no DISCONNECT: the broker publishes the wills). */
  drop(): void {
    if (this.engine) this.engine.drop();
    for (const c of this.children) c.proc.send({ type: "drop" } as ToChild);
  }

  /** Sums the counters of every process. */
  async counters(): Promise<EngineCounters> {
    if (this.engine) return { ...this.engine.counters };
    const got = this.children.map(() => new Promise<void>((r) => this.counterWaiters.push(r)));
    for (const c of this.children) c.proc.send({ type: "counters" } as ToChild);
    await Promise.race([Promise.all(got), Bun.sleep(2000)]);
    const sum: EngineCounters = {
      plans: 0,
      duplicates: 0,
      dropped: 0,
      heartbeats: 0,
      statuses: 0,
      connectFailures: 0,
      helloRetries: 0,
      catalogs: 0,
      catalogBytes: 0,
    };
    for (const c of this.children) {
      for (const k of Object.keys(sum) as (keyof EngineCounters)[]) sum[k] += c.counters?.[k] ?? 0;
    }
    return sum;
  }

  /** Graceful stop of every edge (presence offline, DISCONNECT), then the children exit. */
  async close(): Promise<void> {
    if (this.engine) await this.engine.close();
    await Promise.all(
      this.children.map(async (c) => {
        if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
        const closed = new Promise<void>((r) => (c.closed = r));
        try {
          c.proc.send({ type: "close" } as ToChild);
        } catch {
          // already gone
        }
        await Promise.race([closed, Bun.sleep(5000)]);
        c.proc.kill("SIGKILL");
        await c.proc.exited;
      }),
    );
  }

  /** Immediate: kills the children (for cleanup after an error). */
  kill(): void {
    for (const c of this.children) c.proc.kill("SIGKILL");
  }
}

// ---- child process ---------------------------------------------------------------------------

function runChild(): void {
  let engine: EdgeEngine | undefined;
  let batch: SimEvent[] = [];
  const send = (m: FromChild) => process.send?.(m);
  setInterval(() => {
    if (batch.length === 0) return;
    send({ type: "events", events: batch });
    batch = [];
  }, 20);
  // The parent went away: nothing to report to.
  process.on("disconnect", () => process.exit(0));
  process.on("message", (raw) => {
    const m = raw as ToChild;
    switch (m.type) {
      case "start":
        engine = new EdgeEngine(m.nodes, m.options, (e) => batch.push(e));
        send({ type: "started" });
        void engine.start();
        return;
      case "drop":
        engine?.drop();
        return;
      case "counters":
        send({ type: "counters", counters: engine?.counters ?? ({} as EngineCounters) });
        return;
      case "close":
        void (engine?.close() ?? Promise.resolve()).then(() => {
          if (batch.length > 0) send({ type: "events", events: batch });
          send({ type: "closed" });
          setTimeout(() => process.exit(0), 50);
        });
        return;
    }
  });
}

// ---- CLI -------------------------------------------------------------------------------------

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const USAGE = `usage: bun bench/sim-edges.ts --cloud URL --admin-token-file FILE --edges N [flags]

  --cloud URL              cloud API, e.g. http://127.0.0.77:7400
  --admin-token-file FILE  the cloud's <data-dir>/admin.token
  --edges N                simulated edges to join and run
  --prefix NAME            node names NAME-0 ... (default sim-<random>)
  --label K=V              label of every simulated node (repeatable; default levee.bench/sim=true)
  --identities FILE        reuse the identities saved in FILE; the missing ones join and are saved there
  --processes P            child processes (default: one per 2,500 edges; 0 = this process)
  --transport lite|mqttjs  MQTT client per edge (default lite)
  --connect-rate R         first connects per second (default 1000; 0 = all at once)
  --report-status          report workers as running after each plan
  --no-catalog             subscribe only to the down topic (not the mesh catalog and log requests)
  --duration S             run S seconds, then stop gracefully (default: until SIGINT/SIGTERM)
`;

async function cli(args: string[]): Promise<number> {
  const cloud = flag(args, "--cloud");
  const tokenFile = flag(args, "--admin-token-file");
  const edges = Number(flag(args, "--edges"));
  if (args.includes("--help") || !cloud || !tokenFile || !Number.isInteger(edges) || edges < 1) {
    process.stderr.write(USAGE);
    return args.includes("--help") ? 0 : 2;
  }
  const adminToken = readFileSync(tokenFile, "utf8").trim();
  const prefix = flag(args, "--prefix") ?? `sim-${randomBytes(2).toString("hex")}`;
  const labels: Record<string, string> = {};
  args.forEach((a, i) => {
    if (a !== "--label") return;
    const [k = "", v = ""] = (args[i + 1] ?? "").split("=");
    labels[k] = v;
  });
  if (Object.keys(labels).length === 0) labels["levee.bench/sim"] = "true";
  const idFile = flag(args, "--identities");
  let identities: SimIdentity[];
  let saved: SimIdentity[] | undefined;
  try {
    saved = idFile ? (JSON.parse(readFileSync(idFile, "utf8")) as SimIdentity[]) : undefined;
  } catch {
    saved = undefined;
  }
  // Saved identities are reused; the missing ones join (named after the saved ones, so no clash).
  identities = (saved ?? []).slice(0, edges);
  if (identities.length > 0) console.log(`using ${identities.length} identities from ${idFile}`);
  if (identities.length < edges) {
    const first = identities.length;
    const names = Array.from({ length: edges - first }, (_, i) => `${prefix}-${first + i}`);
    const joined = await joinSimNodes({
      cloud,
      adminToken,
      names,
      labels,
      onProgress: (n) => console.log(`  joined ${n}/${names.length}`),
    });
    identities.push(...joined.identities);
    console.log(
      `joined ${names.length} nodes in ${(joined.ms / 1000).toFixed(1)} s (${Math.round(names.length / (joined.ms / 1000))}/s)`,
    );
    if (idFile) writeFileSync(idFile, JSON.stringify(identities), { mode: 0o600 });
  }
  const processes = flag(args, "--processes");
  const transport = flag(args, "--transport") === "mqttjs" ? "mqttjs" : "lite";
  const t0 = now();
  const fleet = await SimFleet.start({
    identities,
    transport,
    reportStatus: args.includes("--report-status"),
    catalog: !args.includes("--no-catalog"),
    connectRatePerSec: Number(flag(args, "--connect-rate") ?? 1000),
    ...(processes !== undefined ? { processes: Number(processes) } : {}),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping: presence offline and DISCONNECT for every edge");
    await fleet.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  let allUp = false;
  const report = setInterval(async () => {
    const c = await fleet.counters();
    const welcomed = fleet.welcomedSince(1);
    const usage = fleet.usage();
    const rss = usage.reduce((s, u) => s + u.rssMB, 0);
    const cpu = usage.reduce((s, u) => s + u.cpuSeconds, 0);
    if (!allUp && welcomed === edges) {
      allUp = true;
      console.log(`all ${edges} edges connected and welcomed after ${((now() - t0) / 1000).toFixed(1)} s`);
    }
    console.log(
      `connected ${fleet.connected()}/${edges}  welcomed ${welcomed}  plans ${c.plans}  duplicates ${c.duplicates}  ` +
        `heartbeats ${c.heartbeats}  dropped ${c.dropped}  connect failures ${c.connectFailures}  hello retries ${c.helloRetries}  ` +
        `catalogs ${c.catalogs} (${(c.catalogBytes / 1e6).toFixed(1)} MB)  ` +
        `simulator RSS ${rss.toFixed(0)} MB, CPU ${cpu.toFixed(1)} s`,
    );
  }, 5000);
  const duration = Number(flag(args, "--duration") ?? 0);
  if (duration > 0) {
    await Bun.sleep(duration * 1000);
    clearInterval(report);
    await stop();
  }
  return 0;
}

if (import.meta.main) {
  if (process.argv.includes("--child")) runChild();
  else {
    const code = await cli(process.argv.slice(2));
    if (code !== 0) process.exit(code);
  }
}
