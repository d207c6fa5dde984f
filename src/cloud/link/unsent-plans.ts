// What the cloud does when a node reports a plan the cloud never sent it (an ack, hello or
// heartbeat naming a revision beyond its plan, or its revision with another hash): the report is
// not recorded (src/cloud/link/sync-store.ts checks it against the plans table), it is counted as
// levee_sync_dropped_total{reason="unsent-plan"}, and logged once per node until the node
// acknowledges a plan the cloud did send.

import type { Counter } from "../../runtime/counters.ts";
import type { Logger } from "../../runtime/log.ts";

export interface UnsentPlans {
  report(node: string, type: string, revision: number, hash: string | null): void;
  /** The node acknowledged its real plan: a later false report is logged again. */
  clear(node: string): void;
}

export function unsentPlans(
  dropped: Counter,
  log: Logger,
  sent: (node: string) => { revision: number; hash: string } | undefined,
): UnsentPlans {
  const logged = new Set<string>();
  return {
    report(node, type, revision, hash) {
      dropped.inc("unsent-plan");
      if (logged.has(node)) return;
      logged.add(node);
      const head = sent(node);
      log.warn("node reported a plan the cloud never sent it; not recorded", {
        node,
        type,
        revision,
        hash,
        sentRevision: head?.revision ?? 0,
        sentHash: head?.hash ?? null,
      });
    },
    clear: (node) => logged.delete(node),
  };
}
