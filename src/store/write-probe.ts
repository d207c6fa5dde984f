// Readiness of the store: "the database file is open" is not enough, since a full disk (or a
// read-only remount) makes every later write fail while reads still work. The probe commits one
// small write in an IMMEDIATE transaction (a row of meta, rewritten each time), which needs the
// write lock, a WAL append and its fsync like every real write; its error becomes the reason
// /readyz gives. /readyz is open to any caller (probes need no token), so the check commits at
// most once per interval and answers with that result in between: a flood of probes is not a
// flood of fsyncs.
import type { Store } from "./store.ts";

const PROBE_KEY = "health-write-probe";

/** How long one probe's result stands, ms. */
export const PROBE_INTERVAL_MS = 1000;

/** true when the store committed a write just now, else why not (e.g. "database or disk is full"). */
export function probeStoreWrite(store: Store): true | string {
  try {
    store.setMeta(PROBE_KEY, new Date().toISOString());
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    return `cannot write to the database ${store.path}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
  }
}

/** The readiness check: probeStoreWrite at most once per `intervalMs`, its last result between. */
export function storeWriteCheck(
  store: Store,
  intervalMs = PROBE_INTERVAL_MS,
  clock: () => number = () => performance.now(),
): () => true | string {
  let last: { at: number; result: true | string } | undefined;
  return () => {
    const at = clock();
    if (last === undefined || at - last.at >= intervalMs) last = { at, result: probeStoreWrite(store) };
    return last.result;
  };
}
