// Readiness of the store: "the database file is open" is not enough, since a full disk (or a
// read-only remount) makes every later write fail while reads still work. The probe commits one
// small write in an IMMEDIATE transaction (a row of meta, rewritten each time), which needs the
// write lock, a WAL append and its fsync like every real write; its error becomes the reason
// /readyz gives.
import type { Store } from "./store.ts";

const PROBE_KEY = "health-write-probe";

/** true when the store committed a write just now, else why not (e.g. "database or disk is full"). */
export function probeStoreWrite(store: Store, now: () => Date = () => new Date()): true | string {
  try {
    store.setMeta(PROBE_KEY, now().toISOString());
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    return `cannot write to the database ${store.path}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
  }
}
