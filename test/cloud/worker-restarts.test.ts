// Restarting one worker through desired state, in-process (a real store and control plane, no
// sockets): the planner puts a worker's restart count into that worker's entry only; a restart
// grows the count, re-plans the node (a new revision, every other plan and entry unchanged) and
// records an event, all or nothing; what is not planned is a 404 naming it; the counters go with
// their service; POST /api/v1/workers/restart guards its body and its token.
import { afterAll, describe, expect, test } from "bun:test";
import type { PlanChange } from "../../src/cloud/plan-writer.ts";
import { type PlannerInput, planAll } from "../../src/cloud/planner.ts";
import type { NodePlan } from "../../src/manifest/plan.ts";
import { resolveWorkerTemplate } from "../../src/manifest/service.ts";
import { planBodyLimit } from "../../src/protocol/messages.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";

describe("planner", () => {
  test("a restart count goes into that worker's entry only; without counts plans are as before", async () => {
    const input: PlannerInput = {
      services: [
        {
          name: "web",
          uid: "u",
          generation: 1,
          spec: { template: { command: ["run"] }, workers: [{ nodeSelector: {}, replicas: 2 }] },
        },
      ],
      configs: [],
      nodes: [
        { name: "edge1", labels: {}, phase: "Ready" },
        { name: "edge2", labels: {}, phase: "Ready" },
      ],
      resolveTemplate: (spec, entry) =>
        resolveWorkerTemplate(spec as never, entry as never) as unknown as Record<string, unknown>,
    };
    const before = planAll(input);
    const after = planAll({
      ...input,
      restartOf: (service, node, index) => (service === "web" && node === "edge1" && index === 1 ? 3 : 0),
    });
    const workers = (plans: typeof before, node: string) => plans.get(node)?.plan.services[0]?.workers ?? [];
    expect(workers(after, "edge1").map((w) => w.restart)).toEqual([undefined, 3]);
    expect("restart" in (workers(after, "edge1")[0] ?? {})).toBe(false);
    expect(workers(after, "edge1")[0]).toEqual(workers(before, "edge1")[0] as never);
    expect(after.get("edge2")?.plan).toEqual(before.get("edge2")?.plan as NodePlan);
  });
});

const changes: PlanChange[] = [];
/** The plan body limit, lowered by one test to the size of a plan. */
let budget: number | undefined;
const { store, app, plane } = inProcessCloud({
  onPlansChanged: (c) => changes.push(...c),
  limits: {
    servicesPerNode: 250,
    workersPerNode: 1000,
    planBytes: (node) => budget ?? planBodyLimit(node),
  },
});
afterAll(() => store.close());
registeredNode(store, "edge1");
registeredNode(store, "edge2");
plane.replan("joined");

const service = (name: string, namespace?: string) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { template: { command: ["sleep", "1000"] }, workers: [{ node: "edge1", replicas: 2 }] },
});

function planOf(node: string): { revision: number; plan: NodePlan } {
  const row = store.db
    .query<{ revision: number; plan: string }, [string]>("SELECT revision, plan FROM plans WHERE node = ?")
    .get(node);
  if (!row) throw new Error(`no plan for ${node}`);
  return { revision: row.revision, plan: JSON.parse(row.plan) as NodePlan };
}

/** POST /api/v1/apply (the manifest parsed as the API parses it). */
async function apply(...objects: unknown[]): Promise<void> {
  const res = await app.request("/api/v1/apply", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(objects),
  });
  expect(res.status, await res.text()).toBe(200);
}

const entries = (node: string, name: string) =>
  planOf(node).plan.services.find((s) => s.name === name)?.workers ?? [];
const counters = () =>
  store.db.query<{ service: string }, []>("SELECT service FROM worker_restarts ORDER BY service").all();

async function post(
  body: unknown,
  token = ADMIN_TOKEN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.request("/api/v1/workers/restart", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("ControlPlane.restartWorker", () => {
  test("grows the worker's count in its node's plan (a new revision), with a Restarted event", async () => {
    await apply(service("web"), service("db"));
    const before = planOf("edge1");
    const edge2 = planOf("edge2");
    const events: { reason: string; name: string; message: string }[] = [];
    plane.events.on("event", (e) => events.push(e));
    changes.length = 0;

    expect(plane.restartWorker("web", "edge1", 1)).toBe("restarted");
    expect(changes).toEqual([{ node: "edge1", revision: before.revision + 1 }]);
    expect(entries("edge1", "web").map((w) => w.restart)).toEqual([undefined, 1]);
    expect(entries("edge1", "db")).toEqual(
      before.plan.services.find((s) => s.name === "db")?.workers as never,
    );
    expect(planOf("edge2")).toEqual(edge2);
    expect(events).toEqual([
      expect.objectContaining({
        reason: "Restarted",
        name: "web",
        message: "worker 1 on node edge1 (restart 1)",
      }),
    ]);

    expect(plane.restartWorker("web", "edge1", 1)).toBe("restarted");
    expect(entries("edge1", "web").map((w) => w.restart)).toEqual([undefined, 2]);
    // An apply that changes nothing keeps the count (and the plan).
    changes.length = 0;
    await apply(service("web"));
    expect(changes).toEqual([]);
    expect(entries("edge1", "web").map((w) => w.restart)).toEqual([undefined, 2]);
  });

  test("a worker not in the node's plan: not-found, nothing stored", async () => {
    const revision = planOf("edge1").revision;
    expect(plane.restartWorker("web", "edge9", 0)).toBe("not-found");
    expect(plane.restartWorker("web", "edge2", 0)).toBe("not-found");
    expect(plane.restartWorker("web", "edge1", 2)).toBe("not-found");
    expect(plane.restartWorker("nothing", "edge1", 0)).toBe("not-found");
    expect(planOf("edge1").revision).toBe(revision);
    expect(counters().filter((c) => c.service === "nothing")).toEqual([]);
  });

  test("a namespaced service by its key; counters go with their service, a new one starts from 0", async () => {
    await apply(service("api", "team"));
    expect(plane.restartWorker("api.team", "edge1", 0)).toBe("restarted");
    expect(entries("edge1", "api.team").map((w) => w.restart)).toEqual([1, undefined]);
    expect(counters().map((c) => c.service)).toContain("api.team");

    plane.delete("Namespace", "team");
    expect(counters().map((c) => c.service)).not.toContain("api.team");
    await apply(service("api", "team"));
    expect(entries("edge1", "api.team").map((w) => w.restart)).toEqual([undefined, undefined]);
  });

  test("a count that would push a service off its node (the plan at its size limit) is refused", async () => {
    await apply(service("big"));
    const { revision, plan } = planOf("edge1");
    // The planner's bound of this plan's size (one more byte than its text): not a byte to spare.
    budget = Buffer.byteLength(JSON.stringify(plan)) + 1;
    const placed = plan.services.map((s) => s.name);
    try {
      expect(() => plane.restartWorker("big", "edge1", 0)).toThrow(
        'restarting worker 0 of service "big" would make the plan of node "edge1" too large for one sync message: it would leave off service "web"',
      );
    } finally {
      budget = undefined;
    }
    expect(planOf("edge1").revision).toBe(revision);
    expect(planOf("edge1").plan.services.map((s) => s.name)).toEqual(placed);
    expect(entries("edge1", "big").map((w) => w.restart)).toEqual([undefined, undefined]);
    expect(counters().map((c) => c.service)).not.toContain("big");
  });
});

describe("POST /api/v1/workers/restart", () => {
  test("restarts, or names what is not there (404), refuses bad bodies (400) and other tokens (401)", async () => {
    await apply(service("web"));
    const ok = await post({ service: "web", node: "edge1", index: 0 });
    expect(ok).toEqual({ status: 200, body: { restarted: { service: "web", node: "edge1", index: 0 } } });

    expect(await post({ service: "web", node: "edge9", index: 0 })).toEqual({
      status: 404,
      body: { error: 'node "edge9" not found' },
    });
    expect((await post({ service: "web", node: "edge2", index: 0 })).body.error).toBe(
      'service "web" has no workers on node "edge2"',
    );
    expect((await post({ service: "web", node: "edge1", index: 7 })).body.error).toBe(
      'service "web" has no worker 7 on node "edge1" (its workers there: 0, 1)',
    );
    await apply(service("api", "team"));
    expect((await post({ service: "api.team", node: "edge1", index: 4 })).body.error).toBe(
      'service "team/api" has no worker 4 on node "edge1" (its workers there: 0, 1)',
    );

    const bad = await post({ service: "web", node: "edge1", index: -1, extra: 1 });
    expect(bad.status).toBe(400);
    expect((bad.body.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(["", "index"]);
    expect((await post("{")).status).toBe(400);
    expect((await post({ service: "web", node: "edge1", index: 0 }, "wrong")).status).toBe(401);
  });
});
