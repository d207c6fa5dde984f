// The cloud's part of its one-line status (systemd's STATUS=, shown by `systemctl status`): how
// many of the cluster's nodes are Ready; the cloud's own node part follows (node/status-line.ts).
import type { Store } from "../store/store.ts";

/** e.g. "nodes 3/4 Ready". */
export function clusterStatus(store: Store): string {
  const row = store.db
    .query<{ total: number; ready: number | null }, []>(
      "SELECT count(*) AS total, sum(phase = 'Ready') AS ready FROM nodes",
    )
    .get();
  return `nodes ${row?.ready ?? 0}/${row?.total ?? 0} Ready`;
}
