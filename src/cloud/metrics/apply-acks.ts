// How long a change of plans takes to reach the fleet: from the moment the control plane wrote
// new plans (an apply, a delete, a re-plan after a node joined or was lost) until every node
// whose plan it changed acknowledged that revision or a later one. Pure: the caller passes the
// clock and receives each completed rollout's duration (levee_apply_ack_duration_seconds).
//
// A rollout a node never acknowledges (it stays disconnected, it is deleted) would be kept
// forever; at most `maxRollouts` are kept and the oldest is forgotten first, so memory stays
// bounded and only rollouts that completed are observed.

export interface PlanRevision {
  node: string;
  revision: number;
}

interface Rollout {
  startedMs: number;
  /** Nodes still to acknowledge, with the revision each must reach. */
  waiting: Map<string, number>;
}

export const DEFAULT_MAX_ROLLOUTS = 256;

export class ApplyAcks {
  private readonly rollouts: Rollout[] = [];

  constructor(
    private readonly observe: (seconds: number) => void,
    private readonly now: () => number = Date.now,
    private readonly maxRollouts = DEFAULT_MAX_ROLLOUTS,
  ) {}

  /** Rollouts still waiting for some node. */
  pending(): number {
    return this.rollouts.length;
  }

  /** The control plane wrote these plans together (one rollout). */
  planned(changes: readonly PlanRevision[]): void {
    if (changes.length === 0) return;
    const waiting = new Map<string, number>();
    for (const { node, revision } of changes) waiting.set(node, Math.max(revision, waiting.get(node) ?? 0));
    this.rollouts.push({ startedMs: this.now(), waiting });
    if (this.rollouts.length > this.maxRollouts) this.rollouts.shift();
  }

  /** `node` acknowledged `revision` (its desired plan): rollouts it completes are observed. */
  applied(node: string, revision: number): void {
    for (const rollout of this.rollouts) {
      const needed = rollout.waiting.get(node);
      if (needed !== undefined && revision >= needed) rollout.waiting.delete(node);
    }
    this.complete();
  }

  /** The node is gone (deleted): no rollout waits for it any more. */
  forget(node: string): void {
    for (const rollout of this.rollouts) rollout.waiting.delete(node);
    this.complete();
  }

  /** Observes and removes the rollouts nobody is waiting for. */
  private complete(): void {
    const t = this.now();
    for (let i = this.rollouts.length - 1; i >= 0; i--) {
      const rollout = this.rollouts[i] as Rollout;
      if (rollout.waiting.size > 0) continue;
      this.rollouts.splice(i, 1);
      this.observe(Math.max(0, t - rollout.startedMs) / 1000);
    }
  }
}
