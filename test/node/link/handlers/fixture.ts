// An edge link context without a broker, for the handler tests: an edge store of its own with the
// real plan store and status outbox, a clock whose timers fire only when a test says so, and a
// publish that records what would have gone to the broker.
import { afterEach } from "bun:test";
import type { Cancel, Clock } from "../../../../src/node/link/clock.ts";
import { EdgeLinkState } from "../../../../src/node/link/edge-link-state.ts";
import type { EdgeLinkContext } from "../../../../src/node/link/handlers/context.ts";
import {
  acceptPlan,
  readStoredPlan,
  readStoredVersion,
  type StoredPlan,
} from "../../../../src/node/link/plan-store.ts";
import { StatusOutbox } from "../../../../src/node/link/status-outbox.ts";
import { storedPlanKey } from "../../../../src/node/plan-key.ts";
import { decodeMessage, type Message } from "../../../../src/protocol/messages.ts";
import { parseNodeTopic } from "../../../../src/protocol/topics.ts";
import { Counter } from "../../../../src/runtime/counters.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { openStore, type Store } from "../../../../src/store/store.ts";
import { makeTempDir } from "../../../harness/cluster.ts";

export { workerStatus as worker } from "../../../protocol/worker-status.ts";

export const NODE = "e1";
export const T0 = Date.parse("2030-01-01T00:00:00.000Z");

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

export interface FakeTimer {
  ms: number;
  repeat: boolean;
  fn: () => void;
  /** Cancelled, or a one-shot that fired. */
  done: boolean;
}

/** A clock whose timers run only through fire(). */
export class FakeClock implements Clock {
  ms = T0;
  readonly timers: FakeTimer[] = [];
  now = (): number => this.ms;
  every(ms: number, fn: () => void): Cancel {
    return this.#add({ ms, fn, repeat: true, done: false });
  }
  after(ms: number, fn: () => void): Cancel {
    return this.#add({ ms, fn, repeat: false, done: false });
  }
  /** Timers that may still fire. */
  pending(): FakeTimer[] {
    return this.timers.filter((t) => !t.done);
  }
  fire(timer: FakeTimer): void {
    if (timer.done) throw new Error("the timer was cancelled or has fired");
    if (!timer.repeat) timer.done = true;
    timer.fn();
  }
  #add(timer: FakeTimer): Cancel {
    this.timers.push(timer);
    return () => {
      timer.done = true;
    };
  }
}

export interface Sent {
  topic: string;
  retain: boolean;
  msg: Message;
}

export interface EdgeFixture {
  ctx: EdgeLinkContext;
  store: Store;
  state: EdgeLinkState;
  outbox: StatusOutbox;
  clock: FakeClock;
  /** Whether the fake session is connected (isReady); publish fails when not. */
  connected: { ready: boolean };
  /** Every message published, decoded. */
  sent: Sent[];
  /** The messages published on the up topic, decoded, then forgotten. */
  takeUp(): Message[];
  onPlan: StoredPlan[];
  logs: string[];
}

export function edgeFixture(options: { heartbeatSeconds?: number } = {}): EdgeFixture {
  const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
  stores.push(store);
  const logs: string[] = [];
  const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });
  const clock = new FakeClock();
  const connected = { ready: true };
  const sent: Sent[] = [];
  const onPlan: StoredPlan[] = [];
  const outbox = new StatusOutbox(store);
  const state = new EdgeLinkState(options.heartbeatSeconds ?? 5, new Date(T0 - 1000).toISOString());
  const publish = (topic: string, payload: Buffer, retain = false) => {
    if (!connected.ready) return false;
    const parsed = parseNodeTopic(topic);
    if (!parsed || parsed.node !== NODE) throw new Error(`published to ${topic}`);
    const decoded = decodeMessage(NODE, payload, parsed.channel);
    if (!decoded.ok) throw new Error(`published an invalid message: ${decoded.detail}`);
    sent.push({ topic, retain, msg: decoded.msg });
    return true;
  };
  const ctx: EdgeLinkContext = {
    node: NODE,
    state,
    plans: {
      accept: (plan) => acceptPlan(store, plan),
      version: () => readStoredVersion(store),
      stored: () => readStoredPlan(store),
    },
    outbox,
    agent: { agentVersion: "test-1", bootId: "boot-1", addresses: ["127.0.0.11"] },
    publish,
    publishUnacked: (topic, payload) => publish(topic, payload),
    isReady: () => connected.ready,
    clock,
    dropped: new Counter("levee_sync_dropped_total", "reason"),
    plansReceived: new Counter("levee_sync_plans_received_total", "form"),
    log,
    onPlan: (plan) => onPlan.push(plan),
    planKey: () => storedPlanKey(store),
  };
  return {
    ctx,
    store,
    state,
    outbox,
    clock,
    connected,
    sent,
    takeUp: () => sent.splice(0).flatMap((s) => (parseNodeTopic(s.topic)?.channel === "up" ? [s.msg] : [])),
    onPlan,
    logs,
  };
}
