// A dry-run apply (POST /api/v1/apply?dryRun=true), in-process (a real store and control plane,
// no sockets): it answers what the apply that follows answers (each object's outcome, each node's
// worker changes), adds each object's spec changes, stores nothing (objects, generations, plan
// revisions, events, the resource-version counter, kept generations), and is refused as the apply
// would be.
import { afterAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, adminCaller, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";

const published: string[] = [];
const { store, app, plane } = inProcessCloud({
  onPlansChanged: (c) => published.push(...c.map((x) => x.node)),
  limits: { servicesPerNode: 2, workersPerNode: 100, planBytes: () => 1_000_000 },
});
afterAll(() => store.close());
registeredNode(store, "edge1");
registeredNode(store, "edge2");
plane.replan("joined");

type Answer = {
  results: { kind: string; name: string; outcome: string; generation?: number; changes?: unknown[] }[];
  nodes: { node: string; revision: number; workers: { service: string; index: number; change: string }[] }[];
  dryRun?: true;
  error?: string;
  issues?: { path: string; message: string }[];
};

const call = adminCaller(app);
const apply = (objects: unknown[], dryRun = false) =>
  call<Answer>("POST", `/apply${dryRun ? "?dryRun=true" : ""}`, objects);

const service = (
  name: string,
  env: Record<string, string>,
  replicas = 1,
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name },
  spec: {
    template: { command: ["run"], env },
    workers: [
      { node: "edge1", replicas },
      { node: "edge2", replicas },
    ],
    ...extra,
  },
});

/** Every row of every table: what a dry run must leave as it was. */
function snapshot(): string {
  const tables = store.db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all();
  return JSON.stringify(tables.map((t) => [t.name, store.db.query(`SELECT * FROM "${t.name}"`).all()]));
}

/** The dry run's answer, then the apply's; nothing stored in between, the same answer but the changes. */
async function dryThenApply(objects: unknown[]): Promise<{ dry: Answer; real: Answer }> {
  const before = snapshot();
  const sent = published.length;
  const dry = await apply(objects, true);
  expect(dry.status).toBe(200);
  expect(dry.body.dryRun).toBe(true);
  expect(snapshot()).toBe(before);
  expect(published.length).toBe(sent);
  const real = await apply(objects);
  expect(real.status).toBe(200);
  const { dryRun: _, ...rest } = dry.body;
  const withoutChanges = { ...rest, results: rest.results.map(({ changes: _c, ...r }) => r) };
  expect(real.body).toEqual(withoutChanges);
  return { dry: dry.body, real: real.body };
}

describe("dry run", () => {
  test("a new service: created, every matching node adds its workers", async () => {
    const { dry } = await dryThenApply([service("web", { MODE: "a" }, 2)]);
    expect(dry.results).toEqual([
      expect.objectContaining({ kind: "Service", name: "web", outcome: "created", generation: 1 }),
    ]);
    // A new object's spec as added fields, with the defaults the apply stores.
    const added = dry.results[0]?.changes as { path: string; op: string; after: { env?: unknown } }[];
    expect(added.map((c) => `${c.op} ${c.path}`)).toEqual([
      "added spec.lostAfter",
      "added spec.template",
      "added spec.workers",
    ]);
    expect(added[1]?.after.env).toEqual({ MODE: "a" });
    expect(dry.nodes.map((n) => n.node)).toEqual(["edge1", "edge2"]);
    expect(dry.nodes[0]?.workers.map((w) => `${w.service}/${w.index} ${w.change}`)).toEqual([
      "web/0 added",
      "web/1 added",
    ]);
  });

  test("a changed env: configured with the field, every worker replaced", async () => {
    const { dry } = await dryThenApply([service("web", { MODE: "b" }, 2)]);
    expect(dry.results[0]).toMatchObject({ outcome: "configured", generation: 2 });
    expect(dry.results[0]?.changes).toEqual([
      { path: "spec.template.env.MODE", op: "changed", before: "a", after: "b" },
    ]);
    for (const node of dry.nodes) expect(node.workers.map((w) => w.change)).toEqual(["replaced", "replaced"]);
  });

  test("fewer replicas: the workers beyond stop, the rest stay; the same again: unchanged, no node", async () => {
    const { dry } = await dryThenApply([service("web", { MODE: "b" }, 1)]);
    for (const node of dry.nodes)
      expect(node.workers).toEqual([{ service: "web", index: 1, change: "stopped" }]);
    const again = await dryThenApply([service("web", { MODE: "b" }, 1)]);
    expect(again.dry.results[0]).toMatchObject({ outcome: "unchanged" });
    expect(again.dry.results[0]?.changes).toBeUndefined();
    expect(again.dry.nodes).toEqual([]);
  });

  test("labels only: configured, the same generation, no worker changes", async () => {
    const labelled = {
      ...service("web", { MODE: "b" }, 1),
      metadata: { name: "web", labels: { team: "x" } },
    };
    const { dry } = await dryThenApply([labelled]);
    expect(dry.results[0]).toMatchObject({ outcome: "configured", generation: 3 });
    expect(dry.results[0]?.changes).toEqual([{ path: "metadata.labels.team", op: "added", after: "x" }]);
    expect(dry.nodes).toEqual([]);
  });

  test("refused as the apply is (a node's service limit), and nothing stored", async () => {
    await apply([service("two", { A: "1" })]);
    const before = snapshot();
    const dry = await apply([service("three", { A: "1" })], true);
    const real = await apply([service("three", { A: "1" })]);
    expect(dry.status).toBe(409);
    expect(real.status).toBe(409);
    expect(dry.body.issues).toEqual(real.body.issues as never);
    expect(dry.body.error).toContain("the apply would be refused");
    expect(snapshot()).toBe(before);
  });

  test("a bad dryRun value is a 400 naming it", async () => {
    const res = await app.request("/api/v1/apply?dryRun=maybe", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify([service("web", { MODE: "b" })]),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain("dryRun");
  });
});
