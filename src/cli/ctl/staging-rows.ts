// `levee ctl get staging`: one line per node and staged service: the generation it fetches, the
// bytes it has of the total, and its state (waiting, fetching, ready, "ready, held" while an
// all-nodes rollout waits for other nodes, failed, switched).
import type { StagingRow } from "../../cloud/staging-store.ts";
import { formatSize } from "./artifact.ts";
import { age } from "./format.ts";

export type { StagingRow };

export const STAGING_HEADERS = ["SERVICE", "NODE", "GENERATION", "FETCHED", "STATE", "AGE", "MESSAGE"];

export function stagingRows(items: readonly StagingRow[], now: number): string[][] {
  return items.map((r) => [
    r.service,
    r.node,
    String(r.generation),
    r.total > 0
      ? `${formatSize(r.fetched)}/${formatSize(r.total)} (${Math.floor((100 * r.fetched) / r.total)}%)`
      : "-",
    r.held ? "ready, held" : r.state,
    r.updatedAt ? age(r.updatedAt, now) : "-",
    r.message.replace(/\s+/g, " ").trim(),
  ]);
}
