// The store's readiness check commits a real write, but at most once per interval: /readyz is open
// to any caller, and a flood of probes must not become a flood of fsyncs.
import { expect, test } from "bun:test";
import { openStore } from "../../src/store/store.ts";
import { storeWriteCheck } from "../../src/store/write-probe.ts";
import { makeTempDir } from "../harness/cluster.ts";

test("the write probe commits at most once per interval and answers with its last result between", () => {
  const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
  try {
    let now = 0;
    let writes = 0;
    const setMeta = store.setMeta;
    store.setMeta = (key, value) => {
      writes++;
      setMeta(key, value);
    };
    const check = storeWriteCheck(store, 1000, () => now);
    for (let i = 0; i < 50; i++) expect(check()).toBe(true);
    expect(writes).toBe(1);
    now = 999;
    check();
    expect(writes).toBe(1);
    now = 1000;
    expect(check()).toBe(true);
    expect(writes).toBe(2);
    // A failed write is the reason until the next probe.
    store.setMeta = () => {
      throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    };
    now = 2000;
    expect(check()).toContain("database or disk is full (SQLITE_FULL)");
    store.setMeta = setMeta;
    now = 2500;
    expect(check()).toContain("database or disk is full");
    now = 3000;
    expect(check()).toBe(true);
  } finally {
    store.close();
  }
});
