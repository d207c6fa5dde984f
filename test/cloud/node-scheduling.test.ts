// Cordon, uncordon and drain in-process (a real store, control plane and API, no sockets): a
// cordoned node gets no new selector workers and keeps its running ones; a drain keeps a node's
// selector workers until the other matching node reports its own ready, then drops them; pinned
// workers stay and the drain says so; the state is durable, shown on the node, and recorded as events.
import { afterAll, describe, expect, test } from "bun:test";
import { recordWorkerStatus } from "../../src/cloud/link/sync-store.ts";
import { setNodeLabels } from "../../src/cloud/node-registry.ts";
import type { NodePlan } from "../../src/manifest/plan.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";

const { store, app, plane } = inProcessCloud({ onPlansChanged: () => {} });
afterAll(() => store.close());
for (const name of ["edge1", "edge2", "edge3"]) {
  registeredNode(store, name);
  store.db.query("UPDATE nodes SET phase = 'Ready' WHERE name = ?").run(name);
}
setNodeLabels(store, "edge1", { zone: "a" });
setNodeLabels(store, "edge2", { zone: "a" });
plane.replan("joined");

/** The parts of the answers the tests read. */
interface Answer {
  node?: string;
  scheduling?: string;
  changed?: boolean;
  items?: { service: string; state: string; [field: string]: unknown }[];
  status?: { scheduling?: string };
}

const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const res = await app.request(`/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Answer };
}

const web = (replicas: number) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: {
    template: { command: ["sleep", "1000"] },
    workers: [{ nodeSelector: { zone: "a" }, replicas }],
  },
});
const pinned = {
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "pin" },
  spec: { template: { command: ["sleep", "1000"] }, workers: [{ node: "edge1" }] },
};

/** Workers of each service in a node's plan. */
function workers(node: string): Record<string, number> {
  const row = store.db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?").get(node);
  const plan = JSON.parse(row?.plan ?? '{"services":[]}') as NodePlan;
  return Object.fromEntries(plan.services.map((s) => [s.name, s.workers.length]));
}

const reasons = () =>
  store.db
    .query<{ reason: string }, []>("SELECT reason FROM events WHERE kind = 'Node' ORDER BY id")
    .all()
    .map((e) => e.reason);

describe("cordon, drain, uncordon", () => {
  test("a cordoned node keeps its workers and gets no new selector ones", async () => {
    expect((await call("POST", "/apply", [web(1), pinned])).status).toBe(200);
    expect(workers("edge1")).toEqual({ pin: 1, web: 1 });
    const cordon = await call("POST", "/nodes/edge1/cordon");
    expect(cordon.json).toEqual({ node: "edge1", scheduling: "cordoned", changed: true });
    expect((await call("POST", "/nodes/edge1/cordon")).json.changed).toBe(false);
    expect((await call("GET", "/nodes/edge1")).json.status?.scheduling).toBe("Cordoned");
    await call("POST", "/apply", [web(2), { ...web(1), metadata: { name: "fresh" } }]);
    expect(workers("edge1")).toEqual({ pin: 1, web: 1 });
    expect(workers("edge2")).toEqual({ fresh: 1, web: 2 });
  });

  test("drain waits for the other node's ready workers, then moves; pinned ones stay", async () => {
    const drain = await call("POST", "/nodes/edge1/drain");
    expect(drain.status).toBe(200);
    expect(drain.json.items).toEqual([
      { service: "pin", workers: 1, state: "pinned" },
      { service: "web", workers: 1, state: "waiting", to: ["edge2"], waitingFor: ["edge2"] },
    ]);
    expect(workers("edge1")).toEqual({ pin: 1, web: 1 });
    expect(plane.drainPending).toBe(true);
    const status = (index: number, ready: boolean) => ({
      service: "web",
      index,
      phase: "running",
      ready,
      restarts: 0,
      message: "",
      exitCode: null,
      signal: null,
      since: new Date().toISOString(),
      generation: 2,
    });
    recordWorkerStatus(store, "edge2", [status(0, true), status(1, false)], new Date().toISOString());
    plane.replan("status");
    expect(workers("edge1")).toEqual({ pin: 1, web: 1 });
    recordWorkerStatus(store, "edge2", [status(1, true)], new Date().toISOString());
    plane.replan("status");
    expect(workers("edge1")).toEqual({ pin: 1 });
    expect(plane.drainPending).toBe(false);
    expect((await call("GET", "/nodes/edge1")).json.status?.scheduling).toBe("Draining");
  });

  test("uncordon places selector workers again; events say what happened; unknown node is 404", async () => {
    expect((await call("POST", "/nodes/edge1/uncordon")).json.changed).toBe(true);
    expect(workers("edge1")).toEqual({ fresh: 1, pin: 1, web: 2 });
    expect((await call("GET", "/nodes/edge1")).json.status?.scheduling).toBeUndefined();
    expect(reasons()).toEqual(expect.arrayContaining(["Cordoned", "Drained", "Uncordoned"]));
    const missing = await call("POST", "/nodes/nope/drain");
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.json)).toContain("nope");
  });

  test("a drain with nowhere to go holds the workers", async () => {
    await call("POST", "/nodes/edge2/cordon");
    const drain = await call("POST", "/nodes/edge1/drain");
    expect(drain.json.items?.find((i) => i.service === "web")?.state).toBe("held");
    expect(workers("edge1").web).toBe(2);
  });
});
