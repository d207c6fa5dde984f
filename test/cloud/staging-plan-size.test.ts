// A staged service held back on a node carries its old generation and the new one's workers, so its
// plan can outgrow the body one sync message carries although the planner fitted the new plan: an
// apply that would do so is refused (409 naming the node, the size and spec.rollout.staging); a
// re-plan without an apply lets that node switch at once, unstaged, and says so in the log.
import { afterAll, describe, expect, test } from "bun:test";
import { storedPlanReader } from "../../src/cloud/staging-store.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { adminCaller, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";

let budget = 1_000_000;
const lines: string[] = [];
const { store, app, plane } = inProcessCloud({
  limits: { servicesPerNode: 10, workersPerNode: 100, planBytes: () => budget },
  log: createLogger({ level: "warn", format: "json", write: (line) => lines.push(line) }),
});
afterAll(() => store.close());
registeredNode(store, "edge1");
plane.replan("joined");

const call = adminCaller(app);
type Answer = { issues?: { path: string; message: string }[]; error?: string };
const apply = (version: string) =>
  call<Answer>("POST", "/apply", [
    {
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "model" },
      spec: {
        template: { command: ["run"], env: { VERSION: version, BLOB: version.repeat(3_000) } },
        workers: [{ node: "edge1" }],
        rollout: { staging: "per-node" },
      },
    },
  ]);
const planOf = () => storedPlanReader(store.db)("edge1");
const planBytes = () => Buffer.byteLength(JSON.stringify(planOf()), "utf8");

describe("the size of a plan that holds a staged service back", () => {
  test("an apply whose hold would not fit in one message is refused; nothing changes", async () => {
    expect((await apply("a")).status).toBe(200);
    const v1 = planBytes();
    // The new plan alone fits; held (old and new generation) it is about twice as large.
    budget = v1 + 1_000;
    const before = JSON.stringify(planOf());
    const refused = await apply("b");
    expect(refused.status).toBe(409);
    expect(refused.body.issues?.[0]?.path).toBe("spec.rollout.staging");
    expect(refused.body.error).toMatch(
      new RegExp(
        `^staging model on node edge1 would make its plan \\d+ bytes .*more than the ${budget} one sync message can carry; nothing was applied$`,
      ),
    );
    expect(JSON.stringify(planOf())).toBe(before);
  });

  test("with room for the hold the same apply holds the old generation back", async () => {
    budget = 1_000_000;
    expect((await apply("b")).status).toBe(200);
    const held = planOf()?.services.find((s) => s.name === "model");
    expect(held?.staged?.generation).toBe(held ? held.generation + 1 : -1);
  });

  test("a re-plan whose hold no longer fits lets the node switch at once and logs why", () => {
    const held = planOf()?.services.find((s) => s.name === "model");
    const next = held?.staged?.generation;
    budget = planBytes() - 1_000;
    lines.length = 0;
    plane.replan("labels changed");
    const now = planOf()?.services.find((s) => s.name === "model");
    expect(now?.generation).toBe(next as number);
    expect(now?.staged).toBeUndefined();
    const warned = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "staging skipped on a node");
    expect(warned).toMatchObject({ node: "edge1" });
    expect(warned.reason).toContain("staging model on node edge1 would make its plan");
  });
});
