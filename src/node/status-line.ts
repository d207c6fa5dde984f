// The node part of the agent's one-line status (systemd's STATUS=, shown by `systemctl status`):
// how many workers this node runs and how many are ready, and the plan revision it runs.

import type { Store } from "../store/store.ts";
import { readStoredVersion } from "./link/plan-store.ts";
import type { WorkerSnapshot } from "./workers/supervisor.ts";

/** Pure: e.g. "4 workers (3 ready), plan 12". */
export function formatNodeStatus(
  workers: readonly Pick<WorkerSnapshot, "ready">[],
  revision?: number,
): string {
  const ready = workers.filter((w) => w.ready).length;
  const count =
    workers.length === 0
      ? "no workers"
      : `${workers.length} worker${workers.length === 1 ? "" : "s"}${ready === workers.length ? "" : ` (${ready} ready)`}`;
  return `${count}, ${revision === undefined ? "no plan yet" : `plan ${revision}`}`;
}

/** The status of a joined node, read now. */
export function nodeStatus(supervisor: { snapshot(): WorkerSnapshot[] }, store: Store): string {
  return formatNodeStatus(supervisor.snapshot(), readStoredVersion(store)?.revision);
}
