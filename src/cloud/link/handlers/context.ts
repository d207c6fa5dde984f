// What every cloud link handler is given: the link's state, the store functions, a way to publish
// and to defer until the batch commits, the plan sender, the phase sweep of one node, the clock
// and the logger. cloud-link.ts builds it once; a test builds one with fakes and a store of its
// own, no broker.
import type { Heartbeat, MessageOf, WorkerStatus } from "../../../protocol/messages.ts";
import type { Counter } from "../../../runtime/counters.ts";
import type { Logger } from "../../../runtime/log.ts";
import type { CloudLinkState } from "../cloud-link-state.ts";
import type { SyncRecords } from "../sync-records.ts";
import type { UnsentPlans } from "../unsent-plans.ts";

export interface CloudLinkContext {
  readonly state: CloudLinkState;
  readonly records: SyncRecords;
  /** Publishes on the broker now (QoS 1); false when not connected. */
  publish(topic: string, payload: Buffer, retain?: boolean): boolean;
  /** Publishes at QoS 0 (sacks: a lost one is healed by the node's resend); false when not connected. */
  publishUnacked(topic: string, payload: Buffer): boolean;
  /** Runs `action` after the open batch commits, or now when none is open (group-commit.ts). */
  later(action: () => void): void;
  /** Sends a node its current plan (plan-delivery.ts); false when there is none or no connection. */
  publishPlan(node: string): boolean;
  /** Re-decides one node's phase now (phase-sweep.ts). */
  sweepNode(node: string): void;
  readonly unsent: UnsentPlans;
  /** levee_sync_dropped_total{reason}. */
  readonly dropped: Counter;
  /** The cloud's clock, ms. */
  now(): number;
  readonly log: Logger;
  /** After a node acknowledged exactly its desired plan (called after the commit). */
  readonly onApplied?: ((node: string, revision: number) => void) | undefined;
  /** After worker status from a node was stored (called after the commit). */
  readonly onStatus?: ((node: string, workers: readonly WorkerStatus[]) => void) | undefined;
  /** After a node reported a plan it refused, once per refusal (called after the commit). */
  readonly onPlanRefused?:
    | ((node: string, refusal: NonNullable<Heartbeat["planRefused"]>) => void)
    | undefined;
  /** After a node reported a staged generation ready (called after the commit): re-plan. */
  readonly onStaged?: ((node: string) => void) | undefined;
  /** A node's traffic report (kept in memory for the dashboard, never stored). */
  readonly onTraffic?: ((node: string, report: MessageOf<"traffic">, receivedAt: number) => void) | undefined;
  readonly onUpgradeReport?: ((node: string, report: MessageOf<"upgrade-report">) => void) | undefined;
}

/** The ISO time of the context's clock now (what the handlers write as last_seen and the like). */
export const isoNow = (ctx: CloudLinkContext): string => new Date(ctx.now()).toISOString();
