// What every edge link handler is given: the link's state, this node's plan and status outbox in
// its store, a way to publish, the clock, the logger, and where accepted plans go. edge-link.ts
// builds it once; a test builds one with fakes and a store of its own, no broker.
import type { PlanKey } from "../../../protocol/plan-signature.ts";
import type { UsageReport } from "../../../protocol/usage.ts";
import type { Counter } from "../../../runtime/counters.ts";
import type { Logger } from "../../../runtime/log.ts";
import type { Clock } from "../clock.ts";
import type { EdgeLinkState } from "../edge-link-state.ts";
import type { AcceptResult, IncomingPlan, PlanVersion, StoredPlan } from "../plan-store.ts";
import type { StatusOutbox } from "../status-outbox.ts";

/** This node's plan in its store (plan-store.ts acceptPlan and readStoredVersion). */
export interface EdgePlans {
  /** Decides and (if accepted) writes the plan, in one transaction. */
  accept(plan: IncomingPlan): AcceptResult;
  /** The stored plan's version and hash, or undefined when the node has none. */
  version(): (PlanVersion & { hash: string }) | undefined;
  /** The stored plan, what a delta applies to (packed plans), or undefined. */
  stored(): StoredPlan | undefined;
}

export interface EdgeLinkContext {
  /** This node's name (its topics). */
  readonly node: string;
  readonly state: EdgeLinkState;
  readonly plans: EdgePlans;
  readonly outbox: StatusOutbox;
  /** What every hello says about this agent. */
  readonly agent: { agentVersion: string; bootId: string; addresses: string[] };
  /** Publishes on the broker (QoS 1); false when not connected. */
  publish(topic: string, payload: Buffer, retain?: boolean): boolean;
  /** Publishes at QoS 0 (beats: the next one replaces a lost one); false when not connected. */
  publishUnacked(topic: string, payload: Buffer): boolean;
  /** Whether the session is connected and subscribed. */
  isReady(): boolean;
  readonly clock: Clock;
  /** levee_sync_dropped_total{reason}. */
  readonly dropped: Counter;
  /** levee_sync_plans_received_total{form}: plain, deflated, delta, delta-deflated. */
  readonly plansReceived: Counter;
  readonly log: Logger;
  /** Called after a newer plan was stored and acknowledged: the supervisor converges to it. */
  onPlan(plan: StoredPlan): void;
  /** The cloud's plan-signing key this node keeps (node/plan-key.ts); undefined: plans unverified. */
  planKey(): PlanKey | undefined;
  /** The usage a heartbeat sent now carries, when one is due (node/usage/usage-report.ts). */
  usage?: { next(nowMs: number): UsageReport | undefined } | undefined;
}
