// The fast path's rule counters as `nft -j list counters table inet T` prints them (pure): the
// named counters of the table, by name. The output is bounded before it is parsed (the runner
// reads at most MAX_COUNTER_OUTPUT bytes), and anything that is not a counter of that table, or
// not a whole number, is skipped rather than trusted.
import { scanJsonNesting } from "../../runtime/bounded-json.ts";
import type { CounterValue } from "./ruleset.ts";

/** More than any table of ours prints (three counters per service port, ~150 bytes each). */
export const MAX_COUNTER_OUTPUT = 4 * 1024 * 1024;

export function parseCounters(text: string, table: string): Map<string, CounterValue> {
  const counters = new Map<string, CounterValue>();
  if (text.length > MAX_COUNTER_OUTPUT || !scanJsonNesting(text).ok) return counters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return counters;
  }
  const items = (parsed as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) return counters;
  for (const item of items) {
    const counter = (item as { counter?: unknown } | null)?.counter as Record<string, unknown> | undefined;
    if (!counter || typeof counter !== "object") continue;
    if (counter.table !== table || counter.family !== "inet" || typeof counter.name !== "string") continue;
    const { packets, bytes } = counter;
    if (!isCount(packets) || !isCount(bytes)) continue;
    counters.set(counter.name, { packets, bytes });
  }
  return counters;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
