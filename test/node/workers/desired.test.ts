import { describe, expect, test } from "bun:test";
import { type NodePlan, nodePlanSchema } from "../../../src/manifest/plan.ts";
import { desiredWorkers } from "../../../src/node/workers/desired.ts";

function plan(
  mounts: unknown[],
  configs: NodePlan["configFiles"],
  env: Record<string, string> = {},
): NodePlan {
  return {
    node: "edge1",
    services: [
      {
        name: "web",
        uid: "u1",
        generation: 3,
        workers: [{ index: 0, template: { command: ["x"], env, mounts } }],
      },
    ],
    configFiles: configs,
  };
}

const sha = (c: string) => c.repeat(64);

describe("desiredWorkers", () => {
  test("a template change changes specHash", () => {
    const a = desiredWorkers(plan([], {})).workers[0];
    const b = desiredWorkers(plan([], {}, { X: "1" })).workers[0];
    expect(a?.key).toBe("web/0");
    expect(a?.generation).toBe(3);
    expect(a?.specHash).not.toBe(b?.specHash);
  });

  test("config content: restart mounts change specHash, live mounts only filesHash", () => {
    const restart = [{ config: { name: "c" }, envName: "C" }];
    const live = [{ config: { name: "c" }, envName: "C", changeMode: "signal:HUP" }];
    const v1 = { c: { "a.txt": { sha256: sha("1"), size: 1 } } };
    const v2 = { c: { "a.txt": { sha256: sha("2"), size: 1 } } };
    const [r1, r2] = [
      desiredWorkers(plan(restart, v1)).workers[0],
      desiredWorkers(plan(restart, v2)).workers[0],
    ];
    expect(r1?.specHash).not.toBe(r2?.specHash);
    const [l1, l2] = [desiredWorkers(plan(live, v1)).workers[0], desiredWorkers(plan(live, v2)).workers[0]];
    expect(l1?.specHash).toBe(l2?.specHash);
    expect(l1?.filesHash).not.toBe(l2?.filesHash);
    expect(l1?.configs).toEqual(v1);
  });

  test("a live artifact mount swaps the model without a restart; a restart one replaces", () => {
    const art = (s: string, changeMode?: string) => [
      {
        artifact: { sha256: sha(s), name: "model.onnx" },
        envName: "M",
        ...(changeMode ? { changeMode } : {}),
      },
    ];
    const a = desiredWorkers(plan(art("a", "none"), {})).workers[0];
    const b = desiredWorkers(plan(art("b", "none"), {})).workers[0];
    expect(a?.specHash).toBe(b?.specHash);
    expect(a?.filesHash).not.toBe(b?.filesHash);
    const c = desiredWorkers(plan(art("a"), {})).workers[0];
    const d = desiredWorkers(plan(art("b"), {})).workers[0];
    expect(c?.specHash).not.toBe(d?.specHash);
  });

  test("a template this agent cannot parse is reported, not run", () => {
    const bad: NodePlan = {
      node: "edge1",
      services: [
        { name: "web", uid: "u", generation: 1, workers: [{ index: 0, template: { driver: "vm" } }] },
      ],
      configFiles: {},
    };
    const { workers, invalid } = desiredWorkers(bad);
    expect(workers).toHaveLength(0);
    expect(invalid[0]?.message).toContain("driver");
  });

  test("a worker's restart count is its restartRequest (0 when absent), not part of its spec", () => {
    const base = plan([], {});
    const restarted = structuredClone(base);
    const entry = restarted.services[0]?.workers[0];
    if (entry) entry.restart = 2;
    const [a] = desiredWorkers(base).workers;
    const [b] = desiredWorkers(restarted).workers;
    expect(a?.restartRequest).toBe(0);
    expect(b?.restartRequest).toBe(2);
    expect(b?.specHash).toBe(a?.specHash as string);
    expect(b?.generation).toBe(a?.generation as number);
  });

  test("plans: a worker field this agent does not know is dropped, the plan still reads (as an agent older than `restart` reads it)", () => {
    const text = JSON.parse(JSON.stringify(plan([], {})));
    text.services[0].workers[0].restartedBy = "a newer cloud";
    const parsed = nodePlanSchema.parse(text);
    expect(parsed.services[0]?.workers[0]).toEqual({
      index: 0,
      template: { command: ["x"], env: {}, mounts: [] },
    });
    expect(
      nodePlanSchema.safeParse({
        ...text,
        services: [{ ...text.services[0], workers: [{ index: 0, template: {}, restart: -1 }] }],
      }).success,
    ).toBe(false);
  });
});
