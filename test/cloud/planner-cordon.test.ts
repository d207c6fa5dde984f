// The planner with cordoned and draining nodes: no new nodeSelector workers beyond the node's
// selector budget, pinned workers placed as always.
import { describe, expect, test } from "bun:test";
import { type PlannerInput, type PlannerService, planAll } from "../../src/cloud/planner.ts";
import { resolveWorkerTemplate } from "../../src/manifest/service.ts";

function service(name: string, workers: PlannerService["spec"]["workers"]): PlannerService {
  return {
    name,
    uid: `${name}-uid`,
    generation: 1,
    spec: { template: { driver: "exec", command: ["run"] }, workers },
  };
}

function workersOn(input: PlannerInput): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [node, planned] of planAll(input))
    out[node] = Object.fromEntries(planned.plan.services.map((s) => [s.name, s.workers.length]));
  return out;
}

const base = (services: PlannerService[], budget?: PlannerInput["selectorBudget"]): PlannerInput => ({
  services,
  configs: [],
  nodes: [
    { name: "edge1", labels: { zone: "a" }, phase: "Ready", unschedulable: true },
    { name: "edge2", labels: { zone: "a" }, phase: "Ready" },
  ],
  resolveTemplate: (spec, entry) =>
    resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
  ...(budget ? { selectorBudget: budget } : {}),
});

describe("planner with a cordoned node", () => {
  test("a new selector service places nothing on the cordoned node", () => {
    const plans = workersOn(base([service("web", [{ nodeSelector: { zone: "a" }, replicas: 2 }])]));
    expect(plans).toEqual({ edge1: {}, edge2: { web: 2 } });
  });

  test("a scale-up adds no worker beyond the budget (the workers it already runs)", () => {
    const plans = workersOn(
      base([service("web", [{ nodeSelector: { zone: "a" }, replicas: 3 }])], (svc, node) =>
        svc === "web" && node === "edge1" ? 1 : 0,
      ),
    );
    expect(plans).toEqual({ edge1: { web: 1 }, edge2: { web: 3 } });
  });

  test("pinned workers are placed on it as always; the budget counts selector workers only", () => {
    const plans = workersOn(
      base(
        [
          service("web", [
            { nodeSelector: { zone: "a" }, replicas: 2 },
            { node: "edge1", replicas: 2 },
          ]),
        ],
        () => 1,
      ),
    );
    expect(plans).toEqual({ edge1: { web: 3 }, edge2: { web: 2 } });
  });

  test("a node without the flag ignores the budget", () => {
    const input = base([service("web", [{ nodeSelector: { zone: "a" } }])], () => 0);
    input.nodes = input.nodes.map((n) => ({ ...n, unschedulable: false }));
    expect(workersOn(input)).toEqual({ edge1: { web: 1 }, edge2: { web: 1 } });
  });
});
