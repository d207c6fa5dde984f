// Writes what the cloud link keeps in memory to the nodes and plans tables: heard-from times
// (last_seen) and when plans went out (sent_at). Runs inside the sweep's batch (and at close), so
// heartbeats cost one write per sweep, not one per message; an entry is forgotten after the
// commit unless it changed meanwhile.
import type { CloudLinkState } from "./cloud-link-state.ts";
import type { SyncRecords } from "./sync-records.ts";

export function writeBack(
  state: CloudLinkState,
  records: Pick<SyncRecords, "touchNodes" | "recordPlansSent">,
  later: (action: () => void) => void,
): void {
  const seen = new Map(state.pendingSeen);
  const plans: [string, { revision: number; at: string }][] = [];
  for (const node of state.sentDirty) {
    const p = state.sent.get(node);
    if (p) plans.push([node, { revision: p.revision, at: new Date(p.atMs).toISOString() }]);
  }
  records.touchNodes(seen);
  if (plans.length > 0) records.recordPlansSent(plans);
  later(() => {
    for (const [node, at] of seen) if (state.pendingSeen.get(node) === at) state.pendingSeen.delete(node);
    for (const [node] of plans) state.sentDirty.delete(node);
  });
}
