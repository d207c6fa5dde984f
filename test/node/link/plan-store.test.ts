// The edge's durable state: plan acceptance (epoch, revision) and the coalescing status outbox.
import { afterEach, describe, expect, test } from "bun:test";
import {
  acceptPlan,
  decidePlan,
  readStoredPlan,
  readStoredVersion,
} from "../../../src/node/link/plan-store.ts";
import { StatusOutbox } from "../../../src/node/link/status-outbox.ts";
import type { WorkerStatus } from "../../../src/protocol/messages.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { makeTempDir } from "../../harness/cluster.ts";

const stores: Store[] = [];
const edgeStore = () => {
  const store = openStore({ dataDir: makeTempDir(), mode: "edge" });
  stores.push(store);
  return store;
};
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

describe("plan acceptance", () => {
  test("decision: none → accept; newer → accept; same or older in the epoch → duplicate; other epoch → accept", () => {
    expect(decidePlan(undefined, { epoch: "a", revision: 0 })).toBe("accept");
    expect(decidePlan({ epoch: "a", revision: 3 }, { epoch: "a", revision: 4 })).toBe("accept");
    expect(decidePlan({ epoch: "a", revision: 3 }, { epoch: "a", revision: 3 })).toBe("duplicate");
    expect(decidePlan({ epoch: "a", revision: 3 }, { epoch: "a", revision: 2 })).toBe("duplicate");
    expect(decidePlan({ epoch: "a", revision: 9 }, { epoch: "b", revision: 1 })).toBe("accept");
  });

  test("accepted plans are stored; duplicates leave the stored one", () => {
    const store = edgeStore();
    expect(readStoredPlan(store)).toBeUndefined();
    const r1 = acceptPlan(store, { epoch: "a", revision: 2, hash: "h2", plan: { services: [1] } });
    expect(r1.decision).toBe("accept");
    expect(readStoredPlan(store)).toMatchObject({
      epoch: "a",
      revision: 2,
      hash: "h2",
      plan: { services: [1] },
    });
    const r2 = acceptPlan(store, { epoch: "a", revision: 1, hash: "h1", plan: { services: [] } });
    expect(r2).toMatchObject({ decision: "duplicate", stored: { revision: 2, hash: "h2" } });
    const r3 = acceptPlan(store, { epoch: "a", revision: 2, hash: "other", plan: {} });
    expect(r3).toMatchObject({ decision: "duplicate", sameRevisionOtherHash: true });
    const r4 = acceptPlan(store, { epoch: "b", revision: 1, hash: "hb", plan: { x: 1 } });
    expect(r4.decision).toBe("accept");
    expect(readStoredVersion(store)).toEqual({ epoch: "b", revision: 1, hash: "hb" });
  });

  test("survives reopening the data dir", () => {
    const dir = makeTempDir();
    const a = openStore({ dataDir: dir, mode: "edge" });
    acceptPlan(a, { epoch: "a", revision: 5, hash: "h5", plan: { k: "v" } });
    a.close();
    const b = openStore({ dataDir: dir, mode: "edge" });
    stores.push(b);
    expect(readStoredPlan(b)).toMatchObject({ revision: 5, plan: { k: "v" } });
  });
});

const status = (service: string, index: number, phase: string, restarts = 0): WorkerStatus => ({
  service,
  index,
  phase,
  ready: phase === "Running",
  restarts,
  message: "",
  exitCode: null,
  signal: null,
  since: "2026-01-01T00:00:00.000Z",
});

describe("status outbox", () => {
  test("coalesces per worker: the newest status replaces an unsent one", () => {
    const outbox = new StatusOutbox(edgeStore());
    outbox.record(status("echo", 0, "Starting"));
    outbox.record(status("echo", 0, "Running"));
    outbox.record(status("echo", 1, "Starting"));
    expect(outbox.depth()).toBe(2);
    const batch = outbox.nextBatch();
    expect(batch?.seq).toBe(1);
    expect(batch?.workers.map((w) => [w.index, w.phase])).toEqual([
      [0, "Running"],
      [1, "Starting"],
    ]);
    expect(outbox.nextBatch()).toBeUndefined();
  });

  test("ack deletes what was carried, unless it changed since", () => {
    const outbox = new StatusOutbox(edgeStore());
    outbox.record(status("echo", 0, "Running"));
    outbox.record(status("echo", 1, "Running"));
    const b1 = outbox.nextBatch();
    outbox.record(status("echo", 1, "Failed", 1)); // changed while in flight
    expect(outbox.ack(b1?.seq ?? 0)).toBe(1);
    expect(outbox.depth()).toBe(1);
    const b2 = outbox.nextBatch();
    expect(b2?.seq).toBe(2);
    expect(b2?.workers).toEqual([status("echo", 1, "Failed", 1)]);
    // An old ack cannot delete what a newer batch carries.
    expect(outbox.ack(b1?.seq ?? 0)).toBe(0);
    expect(outbox.ack(b2?.seq ?? 0)).toBe(1);
    expect(outbox.depth()).toBe(0);
  });

  test("recording the same status again is not a change", () => {
    const outbox = new StatusOutbox(edgeStore());
    outbox.record(status("echo", 0, "Running"));
    const b = outbox.nextBatch();
    outbox.record(status("echo", 0, "Running"));
    expect(outbox.unsent()).toBe(0);
    expect(outbox.ack(b?.seq ?? 0)).toBe(1);
  });

  test("resend carries unacked rows again; seq keeps growing across reopen", () => {
    const dir = makeTempDir();
    const a = openStore({ dataDir: dir, mode: "edge" });
    const outbox = new StatusOutbox(a);
    outbox.record(status("echo", 0, "Running"));
    expect(outbox.nextBatch()?.seq).toBe(1);
    expect(outbox.nextBatch()).toBeUndefined();
    a.close();
    const b = openStore({ dataDir: dir, mode: "edge" });
    stores.push(b);
    const again = new StatusOutbox(b).nextBatch({ resend: true });
    expect(again?.seq).toBe(2);
    expect(again?.workers).toHaveLength(1);
  });

  test("batches are limited; resend cycles through every row", () => {
    const outbox = new StatusOutbox(edgeStore());
    for (let i = 0; i < 5; i++) outbox.record(status("s", i, "Running"));
    expect(outbox.nextBatch({ limit: 2 })?.workers.map((w) => w.index)).toEqual([0, 1]);
    expect(outbox.nextBatch({ limit: 2 })?.workers.map((w) => w.index)).toEqual([2, 3]);
    expect(outbox.nextBatch({ limit: 2 })?.workers.map((w) => w.index)).toEqual([4]);
    expect(outbox.nextBatch({ limit: 2 })).toBeUndefined();
    const seen = new Set<number>();
    for (let i = 0; i < 3; i++)
      for (const w of outbox.nextBatch({ resend: true, limit: 2 })?.workers ?? []) seen.add(w.index);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  test("long messages are truncated so a batch stays small", () => {
    const outbox = new StatusOutbox(edgeStore());
    outbox.record({ ...status("echo", 0, "Failed"), message: "x".repeat(100_000) });
    expect(outbox.nextBatch()?.workers[0]?.message.length).toBe(1000);
  });
});
