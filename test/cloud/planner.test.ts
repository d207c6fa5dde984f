// The planner, pure: where workers go, their indices, which configs travel with a plan.
import { describe, expect, test } from "bun:test";
import { sha256Hex } from "../../src/api/canonical.ts";
import { resolveWorkerTemplate } from "../../src/api/service.ts";
import {
  type PlannerInput,
  type PlannerService,
  pinnedToUnknownNodes,
  planAll,
} from "../../src/cloud/planner.ts";

function service(
  name: string,
  workers: PlannerService["spec"]["workers"],
  mounts: unknown[] = [],
): PlannerService {
  return {
    name,
    uid: `${name}-uid`,
    generation: 1,
    spec: { template: { driver: "exec", command: ["run"], env: { A: "1" }, mounts }, workers },
  };
}

function input(services: PlannerService[], nodes: PlannerInput["nodes"]): PlannerInput {
  return {
    services,
    configs: [
      { name: "models", spec: { data: { "a.txt": "x" } } },
      { name: "unused", spec: { data: { "b.txt": "y" } } },
    ],
    nodes,
    resolveTemplate: (spec, entry) =>
      resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
  };
}

const nodes: PlannerInput["nodes"] = [
  { name: "edge1", labels: { role: "camera" }, phase: "Ready" },
  { name: "edge2", labels: { role: "camera" }, phase: "Lost" },
  { name: "edge3", labels: {}, phase: "Disconnected" },
];

describe("planner", () => {
  test("pinned workers go to their node whatever its phase; selectors skip Lost nodes", () => {
    const plans = planAll(
      input(
        [
          service("pinned", [{ node: "edge2", replicas: 2 }]),
          service("cameras", [{ nodeSelector: { role: "camera" }, replicas: 1 }]),
        ],
        nodes,
      ),
    );
    expect(plans.get("edge1")?.plan.services.map((s) => [s.name, s.workers.length])).toEqual([
      ["cameras", 1],
    ]);
    expect(plans.get("edge2")?.plan.services.map((s) => [s.name, s.workers.length])).toEqual([["pinned", 2]]);
    expect(plans.get("edge3")?.plan.services).toEqual([]);
  });

  test("indices count per node across worker entries, overrides are merged", () => {
    const plans = planAll(
      input(
        [
          service("svc", [
            { node: "edge1", replicas: 2 },
            { nodeSelector: { role: "camera" }, template: { env: { B: "2" } } },
          ]),
        ],
        nodes,
      ),
    );
    const workers = plans.get("edge1")?.plan.services[0]?.workers ?? [];
    expect(workers.map((w) => w.index)).toEqual([0, 1, 2]);
    expect(workers.map((w) => (w.template as { env: Record<string, string> }).env)).toEqual([
      { A: "1" },
      { A: "1" },
      { A: "1", B: "2" },
    ]);
  });

  test("only the configs mounted by a node's workers travel in its plan", () => {
    const mounts = [{ config: { name: "models" }, target: "/models" }];
    const plans = planAll(input([service("svc", [{ node: "edge1" }], mounts)], nodes));
    // By reference: each file's sha256 and size, never its bytes.
    expect(plans.get("edge1")?.plan.configFiles).toEqual({
      models: { "a.txt": { sha256: sha256Hex("x"), size: 1 } },
    });
    expect(plans.get("edge3")?.plan.configFiles).toEqual({});
  });

  test("workers pinned to nodes that have not joined are reported", () => {
    expect(pinnedToUnknownNodes(input([service("svc", [{ node: "edge9", replicas: 3 }])], nodes))).toEqual([
      { service: "svc", node: "edge9", replicas: 3 },
    ]);
  });
});
