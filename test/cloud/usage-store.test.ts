// The usage nodes report, in the cloud's store: a report replaces its node's rows whole, at the
// report's precision; reads filter by node and service; a node the cloud does not know stores
// nothing; deleting a node deletes its usage.
import { afterEach, describe, expect, test } from "bun:test";
import { deleteNode } from "../../src/cloud/node-registry.ts";
import { nodeUsage, recordUsage, workerUsage } from "../../src/cloud/usage-store.ts";
import type { UsageReport } from "../../src/protocol/usage.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function cloudStore(nodes: string[]): Store {
  const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  stores.push(store);
  for (const name of nodes) {
    store.db
      .query(
        "INSERT INTO nodes (name, uid, mqtt_password_hash, joined_at, phase_since) VALUES (?, ?, '', 'x', 'x')",
      )
      .run(name, `uid-${name}`);
  }
  return store;
}

const report = (at: string, workers: [string, number, number][]): UsageReport => ({
  sampledAt: at,
  windowSeconds: 10.004,
  node: { cpuMillicores: 1500, memoryKiB: 2048, cpus: 2, memoryCapacityKiB: 4096 },
  workers: workers.map(([service, index, cpuMillicores]) => ({
    service,
    index,
    cpuMillicores,
    memoryKiB: 53_248,
  })),
});

describe("cloud usage store", () => {
  test("a report replaces its node's rows; reads by node and service", () => {
    const store = cloudStore(["e1", "e2"]);
    recordUsage(
      store,
      "e1",
      report("t1", [
        ["web", 0, 12],
        ["web", 1, 3],
        ["db", 0, 0],
      ]),
      "r1",
    );
    recordUsage(store, "e2", report("t1", [["web", 0, 7]]), "r1");
    expect(nodeUsage(store.db, "e1")).toEqual([
      {
        node: "e1",
        cpuNanocores: 1_500_000_000,
        memoryBytes: 2 * 1024 * 1024,
        cpus: 2,
        memoryCapacityBytes: 4 * 1024 * 1024,
        windowSeconds: 10.004,
        sampledAt: "t1",
      },
    ]);
    expect(nodeUsage(store.db).map((n) => n.node)).toEqual(["e1", "e2"]);
    expect(workerUsage(store.db, { service: "web" }).map((w) => [w.node, w.index, w.cpuNanocores])).toEqual([
      ["e1", 0, 12_000_000],
      ["e1", 1, 3_000_000],
      ["e2", 0, 7_000_000],
    ]);
    expect(workerUsage(store.db, { node: "e1", service: "db" })).toEqual([
      {
        service: "db",
        node: "e1",
        index: 0,
        cpuNanocores: 0,
        memoryBytes: 53_248 * 1024,
        windowSeconds: 10.004,
        sampledAt: "t1",
      },
    ]);
    // The next report of e1 no longer has web/1: its row goes; e2's rows stay.
    recordUsage(store, "e1", report("t2", [["web", 0, 20]]), "r2");
    expect(workerUsage(store.db).map((w) => `${w.service}/${w.node}/${w.index}@${w.sampledAt}`)).toEqual([
      "web/e1/0@t2",
      "web/e2/0@t1",
    ]);
    expect(nodeUsage(store.db, "e1")[0]?.sampledAt).toBe("t2");
  });

  test("a node the cloud does not know stores nothing; a deleted node's usage goes with it", () => {
    const store = cloudStore(["e1"]);
    recordUsage(store, "ghost", report("t1", [["web", 0, 1]]), "r1");
    expect(nodeUsage(store.db)).toEqual([]);
    expect(workerUsage(store.db)).toEqual([]);
    recordUsage(store, "e1", report("t1", [["web", 0, 1]]), "r1");
    expect(workerUsage(store.db)).toHaveLength(1);
    expect(deleteNode(store, "e1")).toBe(true);
    expect(nodeUsage(store.db)).toEqual([]);
    expect(workerUsage(store.db)).toEqual([]);
  });
});
