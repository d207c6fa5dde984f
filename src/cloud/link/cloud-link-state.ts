// What the cloud link remembers about nodes between messages, in memory only: heard-from times
// not yet written, the plan last sent to each node and when, when each node's connection began,
// the heartbeat interval each was told. The handlers (handlers/) read and change it; what must
// survive a restart is written back to the database with the sweep (write-back.ts).
import { heartbeatSeconds as fleetHeartbeat } from "../../protocol/heartbeat.ts";
import type { SentPlan } from "../../protocol/hello-retry.ts";
import type { Hello } from "../../protocol/messages.ts";
import type { PlanText } from "../../protocol/plan-packing.ts";
import { Counter } from "../../runtime/counters.ts";

/** The capability flags of a node's hello: the forms of messages it reads. */
export type NodeReads = Pick<Hello, "packedPlans" | "compactAcks" | "leanPlans">;

/** Plans larger than this are not kept as a delta base (memory: one base per node). */
export const MAX_BASE_CHARS = 256 * 1024;

export class CloudLinkState {
  /** last_seen not yet written (heartbeats are batched into the sweep's transaction). */
  readonly pendingSeen = new Map<string, string>();
  /** The plan last sent to each node and when (cloud clock). */
  readonly sent = new Map<string, SentPlan>();
  /** Nodes whose entry in `sent` is not yet written to plans.sent_at. */
  readonly sentDirty = new Set<string>();
  /** When (cloud clock) the cloud heard each node's current connection begin (online presence). */
  readonly connectedSince = new Map<string, number>();
  /** The heartbeat interval each node was last told in a welcome. */
  readonly told = new Map<string, number>();
  /**
   * When (by the node's clock) the connection behind each node's last "online" began. An edge
   * stamps its will and its online presence with the same time, so an offline presence older
   * than that is the will of a connection already replaced (a taken-over session): ignored.
   */
  readonly onlineTs = new Map<string, number>();
  /** The refusal each node last reported (epoch/revision/reason), so each is recorded once. */
  readonly refused = new Map<string, string>();
  /**
   * What each node's last hello said it reads: packed plans (plan-packing.ts), sacks (the compact
   * status-ack), lean packed plans (no node, id or ts on the wire).
   */
  readonly reads = new Map<string, NodeReads>();
  /** The plan each node acknowledged last, as sent: what a delta is made against. */
  readonly bases = new Map<string, PlanText>();
  /** The plan last sent to each node, until acknowledged (then its base). */
  readonly offered = new Map<string, PlanText>();
  /** levee_sync_plans_sent_total{form}: plain, deflated, delta, delta-deflated. */
  readonly plansSent = new Counter("levee_sync_plans_sent_total", "form");
  /** The fleet size the heartbeat interval is chosen for (recounted at each sweep). */
  nodeCount: number;
  /** When (cloud clock) the link's session last became ready; until a few heartbeats after, silence proves nothing. */
  readySince = 0;
  /** Messages handled. */
  messages = 0;
  /** Repeated hellos answered with a welcome only (hello-retry.ts). */
  helloRepeats = 0;
  /** MQTT messages received, dropped ones included, and published (levee_mqtt_messages_*_total). */
  received = 0;
  published = 0;

  constructor(
    /** The cloud database's epoch (sync-store.ts cloudEpoch). */
    readonly epoch: string,
    nodeCount: number,
    /** Heartbeat interval for a fleet size (docs/PROTOCOL.md, "Heartbeat"). */
    private readonly interval: (nodeCount: number) => number = fleetHeartbeat,
  ) {
    this.nodeCount = nodeCount;
  }

  /** Whether `node`'s last hello said it reads this form (false before any hello). */
  nodeReads(node: string, form: keyof NodeReads): boolean {
    return this.reads.get(node)?.[form] === true;
  }

  /** The heartbeat interval for the current fleet size. */
  heartbeatSeconds(): number {
    return this.interval(this.nodeCount);
  }

  /** The interval a node's silence is judged by: the current one, or a longer one it was told. */
  heartbeatFor(node: string): number {
    return Math.max(this.heartbeatSeconds(), this.told.get(node) ?? 0);
  }

  /** The node acknowledged `revision`/`hash`: the plan sent as that becomes its delta base. */
  acknowledged(node: string, revision: number, hash: string): void {
    const offered = this.offered.get(node);
    if (offered?.revision !== revision || offered.hash !== hash) return;
    this.offered.delete(node);
    if (offered.plan.length <= MAX_BASE_CHARS) this.bases.set(node, offered);
    else this.bases.delete(node);
  }

  /** A hello says what the node has: a base that is not it is forgotten (the next plan goes whole). */
  reported(node: string, has: { epoch: string | null; revision: number; hash: string | null }): void {
    const base = this.bases.get(node);
    if (base && (has.epoch !== this.epoch || base.revision !== has.revision || base.hash !== has.hash))
      this.bases.delete(node);
  }

  /** A plan went out to `node` (written to plans.sent_at with the next write-back). */
  markSent(node: string, plan: SentPlan): void {
    this.sent.set(node, plan);
    this.sentDirty.add(node);
  }
}
