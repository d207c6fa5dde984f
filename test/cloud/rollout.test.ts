// Rollout history and undo in-process (a real store and control plane, no sockets): each new
// generation of a Service is kept with what it changed, at most --history-limit of them; undo applies
// the previous (or a named) kept spec as a new generation, which the plans carry; a generation not
// kept, a Service made from a Dayu object, an unknown object are refused with what to do; a Dayu
// object rolls back through its own spec; the rows go with the object.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { pruneHistory, recordGeneration } from "../../src/cloud/history-store.ts";
import { migrations } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/store.ts";
import { adminCaller, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { makeTempDir } from "../harness/cluster.ts";

const { store, app, plane } = inProcessCloud({ historyLimit: 3 });
afterAll(() => store.close());
registeredNode(store, "edge1");
plane.replan("joined");

type Json = Record<string, unknown>;
const call = adminCaller(app);

const service = (version: string, labels: Record<string, string> = {}) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name: "web", labels },
  spec: { template: { command: ["run"], env: { VERSION: version } }, workers: [{ node: "edge1" }] },
});

/** The env the node's plan gives web's worker. */
function plannedVersion(): unknown {
  const row = store.db.query<{ plan: string }, []>("SELECT plan FROM plans WHERE node = 'edge1'").get();
  const plan = JSON.parse(row?.plan ?? "{}") as { services: { workers: { template: { env: Json } }[] }[] };
  return plan.services[0]?.workers[0]?.template.env.VERSION;
}

type History = { generation: number; items: { generation: number; current: boolean; changes?: Json[] }[] };

describe("rollout", () => {
  test("history: every generation, newest first, each with what it changed; labels make none", async () => {
    for (const v of ["1", "2"]) expect((await call("POST", "/apply", [service(v)])).status).toBe(200);
    await call("POST", "/apply", [service("2", { team: "a" })]);
    const { status, body } = await call("GET", "/services/web/history");
    expect(status).toBe(200);
    const history = body as unknown as History;
    expect(history.generation).toBe(2);
    expect(history.items.map((i) => [i.generation, i.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(history.items[0]?.changes).toEqual([
      { path: "spec.template.env.VERSION", op: "changed", before: "1", after: "2" },
    ]);
    expect(history.items[1]?.changes).toBeUndefined();
  });

  test("undo: the previous spec as a new generation, in the plan; the labels stay", async () => {
    const dry = await call("POST", "/services/web/undo?dryRun=true");
    expect(dry.body).toMatchObject({ dryRun: true, results: [{ outcome: "configured", generation: 3 }] });
    expect(plannedVersion()).toBe("2");
    const { status, body } = await call("POST", "/services/web/undo");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      results: [{ kind: "Service", name: "web", outcome: "configured", generation: 3 }],
      nodes: [{ node: "edge1", workers: [{ service: "web", index: 0, change: "replaced" }] }],
    });
    expect(plannedVersion()).toBe("1");
    const web = (await call("GET", "/services/web")).body as { metadata: { labels: Json } };
    expect(web.metadata.labels).toEqual({ team: "a" });
  });

  test("--to-generation; the history is pruned to the limit; a pruned generation is a 404 that lists the kept", async () => {
    const to2 = await call("POST", "/services/web/undo?toGeneration=2");
    expect(to2.body).toMatchObject({ results: [{ generation: 4 }] });
    expect(plannedVersion()).toBe("2");
    const history = (await call("GET", "/services/web/history")).body as unknown as History;
    expect(history.items.map((i) => i.generation)).toEqual([4, 3, 2]);
    const gone = await call("POST", "/services/web/undo?toGeneration=1");
    expect(gone.status).toBe(404);
    expect(String(gone.body.error)).toContain("generation 1 is not kept (kept: 4, 3, 2; the current is 4)");
    const bad = await call("POST", "/services/web/undo?toGeneration=x");
    expect(bad.status).toBe(400);
  });

  test("an unknown object is a 404; its rows go with a deleted object", async () => {
    expect((await call("GET", "/services/nope/history")).status).toBe(404);
    expect((await call("POST", "/services/nope/undo")).status).toBe(404);
    expect((await call("DELETE", "/services/web")).status).toBe(200);
    const rows = store.db.query("SELECT * FROM object_history WHERE name = 'web'").all();
    expect(rows).toEqual([]);
    await call("POST", "/apply", [service("9")]);
    const history = (await call("GET", "/services/web/history")).body as unknown as History;
    expect(history.items.map((i) => i.generation)).toEqual([1]);
    const none = await call("POST", "/services/web/undo");
    expect(none.status).toBe(404);
    expect(String(none.body.error)).toContain("no generation before the current one kept");
  });

  test("pruning keeps the newest N (at least one)", () => {
    const ref = { kind: "Service", name: "prune-me" };
    store.tx((db) => {
      for (let g = 1; g <= 5; g++) recordGeneration(db, ref, g, { g }, 10);
      expect(pruneHistory(db, ref, 2)).toBe(3);
      expect(pruneHistory(db, ref, 0)).toBe(1);
      const left = db.query("SELECT generation FROM object_history WHERE name = 'prune-me'").all();
      expect(left).toEqual([{ generation: 5 }]);
      recordGeneration(db, { kind: "Config", name: "c" }, 1, {}, 10);
      expect(db.query("SELECT * FROM object_history WHERE kind = 'Config'").all()).toEqual([]);
    });
  });
});

describe("Dayu objects", () => {
  const pod = (image: string) => ({
    template: { spec: { nodeName: "edge1", containers: [{ name: "main", image }] } },
  });
  const jmes = (image: string) => ({
    apiVersion: "sedna.io/v1alpha1",
    kind: "JointMultiEdgeService",
    metadata: { name: "det", namespace: "dayu" },
    spec: { serviceConfig: { pos: "edge", port: 9000 }, edgeWorker: [pod(image)] },
  });
  const image = async () =>
    ((await call("GET", "/services/det?namespace=dayu")).body as { spec: { template: { image: string } } })
      .spec.template.image;

  test("a JointMultiEdgeService rolls back through its spec; its Service only through it", async () => {
    expect((await call("POST", "/apply", [jmes("repo/det:1")])).status).toBe(200);
    expect((await call("POST", "/apply", [jmes("repo/det:2")])).status).toBe(200);
    expect(await image()).toBe("repo/det:2");
    const history = (await call("GET", "/jointmultiedgeservices/det/history?namespace=dayu"))
      .body as unknown as History;
    expect(history.items.map((i) => i.generation)).toEqual([2, 1]);
    // Named by their paths in the manifest.
    expect(history.items[0]?.changes).toEqual([
      {
        path: "spec.edgeWorker[0].template.spec.containers[0].image",
        op: "changed",
        before: "repo/det:1",
        after: "repo/det:2",
      },
    ]);
    const owned = await call("POST", "/services/det/undo?namespace=dayu");
    expect(owned.status).toBe(409);
    expect(String(owned.body.error)).toContain("roll back that instead");
    const undo = await call("POST", "/jointmultiedgeservices/det/undo?namespace=dayu");
    expect(undo.status).toBe(200);
    expect(await image()).toBe("repo/det:1");
  });

  test("a dry run of a Dayu object: its changes and its Service's, the node's worker, nothing stored", async () => {
    const count = () => store.db.query("SELECT count(*) AS n FROM events").get();
    const events = count();
    const dry = await call<{ results: Json[]; nodes: Json[] }>("POST", "/apply?dryRun=true", [
      jmes("repo/det:3"),
    ]);
    expect(dry.status).toBe(200);
    expect(dry.body.results).toMatchObject([
      {
        kind: "JointMultiEdgeService",
        outcome: "configured",
        changes: [{ path: "spec.edgeWorker[0].template.spec.containers[0].image", after: "repo/det:3" }],
      },
      {
        kind: "Service",
        outcome: "configured",
        owner: { kind: "JointMultiEdgeService" },
        changes: [{ path: "spec.template.image", before: "repo/det:1", after: "repo/det:3" }],
      },
    ]);
    expect(dry.body.nodes).toMatchObject([{ node: "edge1", workers: [{ change: "replaced" }] }]);
    expect(await image()).toBe("repo/det:1");
    expect(count()).toEqual(events);
  });
});

describe("the object history migration", () => {
  test("every Service and Dayu object starts its history with its current generation", () => {
    const dir = makeTempDir();
    const db = new Database(join(dir, "levee.db"));
    const version = migrations.find((m) => m.name === "object history")?.version ?? 0;
    const before = migrations.filter((m) => m.version < version);
    for (const m of before) db.exec(m.sql);
    db.exec(`PRAGMA user_version = ${before.at(-1)?.version}`);
    db.exec(`INSERT INTO meta (key, value) VALUES ('mode', 'cloud'), ('created', 'x'), ('node-name', 'hq')`);
    const insert = db.query(
      `INSERT INTO resources (kind, name, namespace, uid, generation, resource_version, labels, spec, created_at, updated_at)
       VALUES (?, ?, '', 'u', ?, 1, '{}', ?, 'c', 'u')`,
    );
    insert.run("Service", "web", 4, JSON.stringify({ workers: [] }));
    insert.run("RuntimeService", "rt", 2, JSON.stringify({ spec: {} }));
    insert.run("Config", "cfg", 3, JSON.stringify({ data: {} }));
    db.close();
    const migrated = openStore({ dataDir: dir, mode: "cloud" });
    try {
      const rows = migrated.db
        .query("SELECT kind, name, generation, spec, applied_at FROM object_history ORDER BY kind")
        .all();
      expect(rows).toEqual([
        { kind: "RuntimeService", name: "rt", generation: 2, spec: '{"spec":{}}', applied_at: "u" },
        { kind: "Service", name: "web", generation: 4, spec: '{"workers":[]}', applied_at: "u" },
      ]);
    } finally {
      migrated.close();
    }
  });
});
