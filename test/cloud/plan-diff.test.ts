// What a node does with a new plan, per worker, decided with the node's own hashes: a template
// change replaces, a requested restart replaces, a live mount's new content updates in place, a
// generation alone changes nothing, new indexes are added and missing ones stopped.
import { expect, test } from "bun:test";
import { workerChanges } from "../../src/cloud/plan-diff.ts";
import type { NodePlan } from "../../src/manifest/plan.ts";

const template = (env: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  command: ["run"],
  env,
  ...extra,
});

function plan(
  workers: { template: Record<string, unknown>; restart?: number }[],
  generation = 1,
  configFiles: NodePlan["configFiles"] = {},
): NodePlan {
  return {
    node: "edge1",
    services: [{ name: "web", uid: "u", generation, workers: workers.map((w, index) => ({ index, ...w })) }],
    configFiles,
  };
}

test("no plan before: every worker added, with its generation", () => {
  expect(workerChanges(undefined, plan([{ template: template({}) }, { template: template({}) }], 2))).toEqual(
    [
      { service: "web", index: 0, change: "added", generation: 2 },
      { service: "web", index: 1, change: "added", generation: 2 },
    ],
  );
});

test("a template change replaces; a generation alone changes nothing; fewer workers stop", () => {
  const before = plan([{ template: template({ A: "1" }) }, { template: template({ A: "1" }) }]);
  expect(workerChanges(before, plan([{ template: template({ A: "2" }) }], 2))).toEqual([
    { service: "web", index: 0, change: "replaced", generation: 2 },
    { service: "web", index: 1, change: "stopped" },
  ]);
  expect(
    workerChanges(before, plan([{ template: template({ A: "1" }) }, { template: template({ A: "1" }) }], 5)),
  ).toEqual([]);
});

test("a requested restart replaces; a live mount's new content updates in place, a restart mount's replaces", () => {
  const before = plan([{ template: template({}) }]);
  expect(workerChanges(before, plan([{ template: template({}), restart: 1 }]))).toEqual([
    { service: "web", index: 0, change: "replaced", generation: 1 },
  ]);
  const files = (sha: string): NodePlan["configFiles"] => ({
    cfg: { "a.txt": { sha256: sha.repeat(64), size: 1 } },
  });
  const mount = (changeMode: string) => ({
    mounts: [{ target: "/etc/app", config: { name: "cfg" }, changeMode }],
  });
  const live = (sha: string) => plan([{ template: template({}, mount("none")) }], 1, files(sha));
  expect(workerChanges(live("a"), live("b"))).toEqual([
    { service: "web", index: 0, change: "updated", generation: 1 },
  ]);
  const restart = (sha: string) => plan([{ template: template({}, mount("restart")) }], 1, files(sha));
  expect(workerChanges(restart("a"), restart("b"))).toEqual([
    { service: "web", index: 0, change: "replaced", generation: 1 },
  ]);
});
