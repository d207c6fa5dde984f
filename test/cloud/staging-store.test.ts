// The nodes' staging reports in the cloud's store: stored whole per node (a ready one the node no
// longer sends is kept as its switched generation), "newly ready" said once, read back for the
// planner, and listed for `get staging` against the plans (waiting, fetching, ready and held,
// switched; stale rows left out). Gone with the node. The control plane holds a staged generation
// back until the reports let it through, and a node's download cap goes into its plan.
import { afterEach, describe, expect, test } from "bun:test";
import { ControlPlane } from "../../src/cloud/control-plane.ts";
import { deleteNode } from "../../src/cloud/node-registry.ts";
import { listStaging, recordStaging, reportReader } from "../../src/cloud/staging-store.ts";
import { parseManifests } from "../../src/manifest/manifest.ts";
import type { NodePlan } from "../../src/manifest/plan.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { makeTempDir } from "../harness/cluster.ts";

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
const log = createLogger({ level: "error", format: "json", write: () => {} });

function cloudStore(nodes: string[]): Store {
  const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
  stores.push(store);
  for (const name of nodes)
    store.db
      .query(
        "INSERT INTO nodes (name, uid, mqtt_password_hash, joined_at, phase_since, phase) VALUES (?, ?, '', 'x', 'x', 'Ready')",
      )
      .run(name, `uid-${name}`);
  return store;
}

const entry = (service: string, generation: number, state: "fetching" | "ready" | "failed", fetched = 0) => ({
  service,
  generation,
  fetched,
  total: 100,
  state,
  message: "",
});

function planOf(store: Store, node: string): NodePlan {
  const row = store.db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?").get(node);
  return JSON.parse(row?.plan ?? "null") as NodePlan;
}

function service(generationEnv: string, staging?: string) {
  const parsed = parseManifests(JSON.stringify(raw(generationEnv, staging)), "application/json");
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.objects[0];
}

function raw(generationEnv: string, staging?: string) {
  return {
    apiVersion: "levee/v1",
    kind: "Service",
    metadata: { name: "web" },
    spec: {
      template: { command: ["sleep", "60"], env: { V: generationEnv } },
      workers: [{ node: "a" }, { node: "b" }],
      ...(staging ? { rollout: { staging } } : {}),
    },
  };
}

describe("staging reports", () => {
  test("stored whole per node; newly ready is said once; a ready one no longer sent stays", () => {
    const store = cloudStore(["a"]);
    expect(recordStaging(store.db, "a", [entry("web", 2, "fetching", 10)], "t1")).toBe(false);
    expect(recordStaging(store.db, "a", [entry("web", 2, "ready", 100)], "t2")).toBe(true);
    expect(recordStaging(store.db, "a", [entry("web", 2, "ready", 100)], "t3")).toBe(false);
    expect(reportReader(store.db)("a", "web")?.state).toBe("ready");
    recordStaging(store.db, "a", [entry("api", 1, "failed")], "t4");
    expect(reportReader(store.db)("a", "web")?.generation).toBe(2);
    recordStaging(store.db, "a", [], "t5");
    expect(reportReader(store.db)("a", "api")).toBeUndefined();
    deleteNode(store, "a");
    expect(reportReader(store.db)("a", "web")).toBeUndefined();
  });

  test("all-nodes through the control plane: held until both nodes report, then both switch; get staging says so", () => {
    const store = cloudStore(["a", "b"]);
    const plane = new ControlPlane(store, log, () => {});
    plane.apply([service("1", "all-nodes")] as never);
    plane.apply([service("2", "all-nodes")] as never);
    for (const node of ["a", "b"]) {
      const s = planOf(store, node).services[0];
      expect(s?.generation).toBe(1);
      expect(s?.staged?.generation).toBe(2);
    }
    expect(listStaging(store.db).map((r) => [r.node, r.state])).toEqual([
      ["a", "waiting"],
      ["b", "waiting"],
    ]);
    recordStaging(store.db, "a", [entry("web", 2, "ready", 100)], "t");
    recordStaging(store.db, "b", [entry("web", 2, "fetching", 40)], "t");
    plane.replan("test");
    expect(planOf(store, "a").services[0]?.generation).toBe(1);
    expect(listStaging(store.db).map((r) => [r.node, r.state, r.held, r.fetched])).toEqual([
      ["a", "ready", true, 100],
      ["b", "fetching", false, 40],
    ]);
    recordStaging(store.db, "b", [entry("web", 2, "ready", 100)], "t");
    plane.replan("test");
    for (const node of ["a", "b"]) {
      expect(planOf(store, node).services[0]?.generation).toBe(2);
      expect(planOf(store, node).services[0]?.staged).toBeUndefined();
    }
    expect(listStaging(store.db).map((r) => [r.node, r.state])).toEqual([
      ["a", "switched"],
      ["b", "switched"],
    ]);
    // Not staged any more: the next generation goes out at once.
    plane.apply([service("3")] as never);
    expect(planOf(store, "a").services[0]?.generation).toBe(3);
    expect(listStaging(store.db)).toEqual([]);
  });

  test("the cloud's download cap goes into the node's plan, and out again", () => {
    const store = cloudStore(["a", "b"]);
    const plane = new ControlPlane(store, log, () => {});
    plane.apply([service("1")] as never);
    expect(plane.setBandwidth("a", 1024 * 1024)).toEqual({ changed: true });
    expect(plane.setBandwidth("a", 1024 * 1024)).toEqual({ changed: false });
    expect(planOf(store, "a").downloadBandwidth).toBe(1024 * 1024);
    expect(planOf(store, "b").downloadBandwidth).toBeUndefined();
    plane.setBandwidth("a", null);
    expect(planOf(store, "a").downloadBandwidth).toBeUndefined();
    expect(plane.setBandwidth("nobody", 1)).toBeUndefined();
  });
});
