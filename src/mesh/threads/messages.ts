// The messages between the agent's main thread and its mesh threads (threads.ts starts them,
// mesh-thread.ts is their entry). Plain data (structured clone): the main thread posts what a
// thread routes with (the catalog, this node's workers, the node's TLS credentials) at start and on
// every refresh; a thread posts back the deltas of its counters, its log lines and when it has
// stopped. Every message carries a version; a message that does not decode is dropped (both sides
// are the same binary, so that only happens on a bug, which the decoders make visible in tests).
import type { Catalog, LocalEndpoint } from "../contracts.ts";
import type { NodeTls } from "../transport/node-tls.ts";

export const THREAD_MESSAGES_VERSION = 1;
type V = { v: typeof THREAD_MESSAGES_VERSION };

/** What a thread is, posted once, first. */
export interface ThreadInit extends V {
  type: "init";
  /** 1, 2, … (0 is the main thread). */
  thread: number;
  node: string;
  /** Service ports listen here (the agent's bind address). */
  bindHost: string;
  /** Upstream ports listen here (the agent's loopback address). */
  loopbackHost: string;
  relayOnly: boolean;
  /** Where the cloud's relay is until the catalog says (an edge: its cloud URL's host). */
  fallbackRelayHost?: string | undefined;
  /** The relay's port until the catalog says (this agent's tunnel port). */
  tunnelPort: number;
  /** Post debug log lines too. */
  debug: boolean;
  /** How often the counters' deltas are posted. */
  countsEveryMs: number;
}

/** What a thread routes with, posted at start and on every refresh of the main thread. */
export interface ThreadState extends V {
  type: "state";
  catalog: Catalog | null;
  local: LocalEndpoint[];
  tls: NodeTls | null;
}

/** Post the counters now (a /metrics scrape waits for the answer). */
export interface ThreadFlush extends V {
  type: "flush";
  id: number;
}

/** Close the listeners, post the last counters and stop. */
export interface ThreadStop extends V {
  type: "stop";
}

export type ToThread = ThreadInit | ThreadState | ThreadFlush | ThreadStop;

/** A cell's change since the last post (worker-counters.ts); inFlight is the value now. */
export interface CellDelta {
  service: string;
  node: string;
  worker: number;
  protocol: "http" | "tcp";
  outcomes: number[];
  buckets: number[];
  latencySum: number;
  latencyCount: number;
  inFlight: number;
}

/** A rare event counted in MeshMetrics' labelled counters, with how many times since the last post. */
export type EventDelta =
  | { kind: "panic"; service: string; node: string; n: number }
  | { kind: "ejection"; service: string; node: string; worker: string; n: number }
  | { kind: "refusal"; service: string; node: string; reason: string; n: number }
  | { kind: "forward"; service: string; node: string; to: string; reason: string; n: number };

export interface CountsDelta {
  cells: CellDelta[];
  events: EventDelta[];
  /** Connections the thread's listeners accepted. */
  accepted: number;
}

export type FromThread =
  | (V & { type: "counts"; counts: CountsDelta; flush?: number | undefined })
  | (V & {
      type: "log";
      level: "debug" | "info" | "warn" | "error";
      msg: string;
      fields: Record<string, unknown>;
    })
  | (V & { type: "stopped"; counts: CountsDelta });

const TO_THREAD = new Set(["init", "state", "flush", "stop"]);
const FROM_THREAD = new Set(["counts", "log", "stopped"]);

function typed(data: unknown, types: Set<string>): { type: string } | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const m = data as { v?: unknown; type?: unknown };
  if (m.v !== THREAD_MESSAGES_VERSION || typeof m.type !== "string" || !types.has(m.type)) return undefined;
  return m as { type: string };
}

function isCounts(value: unknown): value is CountsDelta {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Partial<CountsDelta>;
  return Array.isArray(c.cells) && Array.isArray(c.events) && typeof c.accepted === "number";
}

/** A message for a thread, or undefined. */
export function decodeToThread(data: unknown): ToThread | undefined {
  const m = typed(data, TO_THREAD) as Partial<ToThread> | undefined;
  if (!m) return undefined;
  if (m.type === "init" && (typeof m.thread !== "number" || typeof m.node !== "string")) return undefined;
  if (m.type === "state" && !Array.isArray(m.local)) return undefined;
  if (m.type === "flush" && typeof m.id !== "number") return undefined;
  return m as ToThread;
}

/** A message from a thread, or undefined. */
export function decodeFromThread(data: unknown): FromThread | undefined {
  const m = typed(data, FROM_THREAD) as Partial<FromThread> | undefined;
  if (!m) return undefined;
  if ((m.type === "counts" || m.type === "stopped") && !isCounts(m.counts)) return undefined;
  if (m.type === "log" && (typeof m.msg !== "string" || typeof m.level !== "string")) return undefined;
  return m as FromThread;
}

/** The message posting `state` to a thread. */
export function stateMessage(
  catalog: Catalog | undefined,
  local: readonly LocalEndpoint[],
  tls: NodeTls | undefined,
): ThreadState {
  return {
    v: THREAD_MESSAGES_VERSION,
    type: "state",
    catalog: catalog ?? null,
    local: local.map((e) => ({ service: e.service, index: e.index, port: e.port, ready: e.ready })),
    tls: tls ? { node: tls.node, ca: tls.ca, cert: tls.cert, key: tls.key } : null,
  };
}
