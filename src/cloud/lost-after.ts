// How long a node may stay Disconnected before it is Lost (docs/PROTOCOL.md, "Presence and node
// phase"): the smallest `lostAfter` among the services its plan runs, pinned or placed by
// nodeSelector; "never" (the default) when none sets one. Only Lost lets the planner move
// nodeSelector workers elsewhere, so the most impatient service on a node decides.
//
// The lookup reads the node's plan from the plans table and remembers the answer per plan hash:
// the sweep asks about every Disconnected node every few seconds, plans change rarely.
import { parseDuration } from "../manifest/duration.ts";
import type { Store } from "../store/store.ts";

/** The smallest lostAfter of a plan's services in ms, or null for never. Pure. */
export function lostAfterOfPlan(plan: {
  services?: readonly { lostAfter?: string | undefined }[];
}): number | null {
  let smallest: number | null = null;
  for (const service of plan.services ?? []) {
    const text = service.lostAfter;
    if (text === undefined || text === "never") continue;
    const parsed = parseDuration(text);
    if (!parsed.ok || parsed.ms <= 0) continue;
    if (smallest === null || parsed.ms < smallest) smallest = parsed.ms;
  }
  return smallest;
}

/** lostAfterMs(node) for the cloud link's phase sweep. */
export function createLostAfterLookup(store: Store): (node: string) => number | null {
  const cache = new Map<string, { hash: string; ms: number | null }>();
  const head = store.db.query<{ hash: string }, [string]>("SELECT hash FROM plans WHERE node = ?");
  const body = store.db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?");
  return (node) => {
    const row = head.get(node);
    if (!row) {
      cache.delete(node);
      return null;
    }
    const known = cache.get(node);
    if (known?.hash === row.hash) return known.ms;
    let ms: number | null = null;
    try {
      ms = lostAfterOfPlan(JSON.parse(body.get(node)?.plan ?? "{}") as Parameters<typeof lostAfterOfPlan>[0]);
    } catch {
      ms = null; // an unreadable plan is logged where it is sent; here it only means "never"
    }
    cache.set(node, { hash: row.hash, ms });
    return ms;
  };
}
