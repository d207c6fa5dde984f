import { describe, expect, test } from "bun:test";
import { holdStaged, type StagingReport } from "../../src/cloud/staging-hold.ts";
import type { NodePlan, PlannedService } from "../../src/manifest/plan.ts";

const svc = (generation: number, image: string, extra: Partial<PlannedService> = {}): PlannedService => ({
  name: "model",
  uid: "u1",
  generation,
  workers: [{ index: 0, template: { command: [image] } }],
  ...extra,
});
const plan = (node: string, ...services: PlannedService[]): NodePlan => ({ node, services, configFiles: {} });

function reports(...list: Omit<StagingReport, "fetched" | "total" | "message">[]) {
  return (node: string, service: string) => {
    const r = list.find((x) => x.node === node && x.service === service);
    return r ? { fetched: 1, total: 1, message: "", ...r } : undefined;
  };
}

describe("holdStaged", () => {
  const before = new Map([
    ["a", plan("a", svc(1, "old"))],
    ["b", plan("b", svc(1, "old"))],
  ]);
  const previous = (node: string) => before.get(node);

  test("without staging, the new generation goes out at once", () => {
    const next = new Map([["a", plan("a", svc(2, "new"))]]);
    expect(holdStaged(next, previous, reports()).get("a")).toEqual(next.get("a") as NodePlan);
  });

  test("per-node: a node keeps the old workers and stages the new ones until it reported them ready", () => {
    const next = new Map([
      ["a", plan("a", svc(2, "new", { staging: "per-node" }))],
      ["b", plan("b", svc(2, "new", { staging: "per-node" }))],
    ]);
    const held = holdStaged(
      next,
      previous,
      reports({ node: "b", service: "model", generation: 2, state: "ready" }),
    );
    const a = held.get("a")?.services[0];
    expect(a?.generation).toBe(1);
    expect(a?.workers[0]?.template).toEqual({ command: ["old"] });
    expect(a?.staged).toEqual({ generation: 2, workers: [{ index: 0, template: { command: ["new"] } }] });
    // b has everything: it switches alone.
    expect(held.get("b")?.services[0]?.generation).toBe(2);
    expect(held.get("b")?.services[0]?.staged).toBeUndefined();
  });

  test("all-nodes: nobody switches until every node that must stage reported ready", () => {
    const next = new Map([
      ["a", plan("a", svc(2, "new", { staging: "all-nodes" }))],
      ["b", plan("b", svc(2, "new", { staging: "all-nodes" }))],
    ]);
    const oneReady = holdStaged(
      next,
      previous,
      reports({ node: "b", service: "model", generation: 2, state: "ready" }),
    );
    expect(oneReady.get("a")?.services[0]?.generation).toBe(1);
    expect(oneReady.get("b")?.services[0]?.generation).toBe(1);
    const stale = reports(
      { node: "a", service: "model", generation: 1, state: "ready" },
      { node: "b", service: "model", generation: 2, state: "ready" },
    );
    expect(holdStaged(next, previous, stale).get("b")?.services[0]?.generation).toBe(1);
    const failed = reports(
      { node: "a", service: "model", generation: 2, state: "failed" },
      { node: "b", service: "model", generation: 2, state: "ready" },
    );
    expect(holdStaged(next, previous, failed).get("b")?.services[0]?.generation).toBe(1);
    const both = reports(
      { node: "a", service: "model", generation: 2, state: "ready" },
      { node: "b", service: "model", generation: 2, state: "ready" },
    );
    const released = holdStaged(next, previous, both);
    expect(released.get("a")).toEqual(next.get("a") as NodePlan);
    expect(released.get("b")).toEqual(next.get("b") as NodePlan);
  });

  test("a node that did not run the service, or ran another object of that name, starts the new generation at once", () => {
    const next = new Map([
      ["a", plan("a", svc(2, "new", { staging: "all-nodes", uid: "u2" }))],
      ["c", plan("c", svc(2, "new", { staging: "all-nodes" }))],
    ]);
    const held = holdStaged(next, previous, reports());
    expect(held.get("a")?.services[0]?.generation).toBe(2);
    expect(held.get("c")?.services[0]?.generation).toBe(2);
  });

  test("a held plan that moves on again stages the newest generation, still running the old workers", () => {
    const heldBefore = new Map([
      ["a", plan("a", svc(1, "old", { staging: "per-node", staged: { generation: 2, workers: [] } }))],
    ]);
    const next = new Map([["a", plan("a", svc(3, "newer", { staging: "per-node" }))]]);
    const held = holdStaged(
      next,
      (n) => heldBefore.get(n),
      reports({ node: "a", service: "model", generation: 2, state: "ready" }),
    );
    const a = held.get("a")?.services[0];
    expect(a?.generation).toBe(1);
    expect(a?.staged?.generation).toBe(3);
    expect(a?.workers[0]?.template).toEqual({ command: ["old"] });
  });

  test("the old workers' Configs stay in a held plan", () => {
    const old = {
      ...plan("a", svc(1, "old")),
      configFiles: { conf: { f: { sha256: "a".repeat(64), size: 1 } } },
    };
    const next = new Map([["a", plan("a", svc(2, "new", { staging: "per-node" }))]]);
    expect(holdStaged(next, () => old, reports()).get("a")?.configFiles).toEqual(old.configFiles);
  });
});
