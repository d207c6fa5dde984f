// Namespaces through the cloud API in-process (a real store, no sockets): the same Dayu object in
// two namespaces is two objects with two Services, two mesh ports and separate plans; deleting one
// namespace leaves the other; Configs are found in the object's own namespace; the namespaces
// migration moves a store from before namespaces without losing a port or an ownership record.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { NodePlan } from "../../src/manifest/plan.ts";
import { migrations } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { makeTempDir } from "../harness/cluster.ts";

const { store, app } = inProcessCloud();
afterAll(() => store.close());
registeredNode(store, "edge1");

type Json = Record<string, unknown> & {
  results?: { kind: string; name: string; namespace?: string; outcome: string }[];
  items?: { metadata: { name: string; namespace?: string } }[];
};

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.request(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const jmes = (namespace: string, image: string) => ({
  apiVersion: "sedna.io/v1alpha1",
  kind: "JointMultiEdgeService",
  metadata: { name: "controller", namespace },
  spec: {
    serviceConfig: { pos: "edge", port: 9000 },
    edgeWorker: [
      {
        template: {
          spec: {
            nodeName: "edge1",
            containers: [
              { name: "main", image, command: ["run"], env: [{ name: "GUNICORN_PORT", value: "9000" }] },
            ],
          },
        },
      },
    ],
  },
});

function planOf(node: string): NodePlan {
  const row = store.db.query<{ plan: string }, [string]>("SELECT plan FROM plans WHERE node = ?").get(node);
  return JSON.parse(row?.plan ?? "{}") as NodePlan;
}

describe("namespaces", () => {
  test("the same Dayu object in two namespaces is two deployments", async () => {
    const first = await call("POST", "/apply", [jmes("dayu", "repo/controller:1")]);
    expect(first.status).toBe(200);
    const second = await call("POST", "/apply", [jmes("dayu2", "repo/controller:2")]);
    expect(second.status).toBe(200);
    // Not "configured": a new object beside the first one.
    expect(second.body.results?.map((r) => `${r.kind}/${r.namespace}/${r.name} ${r.outcome}`)).toEqual([
      "Namespace/undefined/dayu2 created",
      "JointMultiEdgeService/dayu2/controller created",
      "Service/dayu2/controller created",
    ]);
    const one = await call("GET", "/services/controller?namespace=dayu");
    const two = await call("GET", "/services/controller?namespace=dayu2");
    expect(one.status).toBe(200);
    expect(two.status).toBe(200);
    const portOf = (b: Json) => (b.spec as { mesh: { port: number } }).mesh.port;
    expect(portOf(one.body)).not.toBe(portOf(two.body));
    // Nothing in the default namespace.
    expect((await call("GET", "/services/controller")).status).toBe(404);
    const services = planOf("edge1").services.map((s) => s.name);
    expect(services.sort()).toEqual(["controller.dayu", "controller.dayu2"]);
    const listed = await call("GET", "/jointmultiedgeservices?namespace=dayu2");
    expect(listed.body.items?.map((o) => o.metadata.namespace)).toEqual(["dayu2"]);
    expect((await call("GET", "/jointmultiedgeservices")).body.items).toHaveLength(2);
  });

  test("deleting a namespace deletes what is in it and leaves the other", async () => {
    const deleted = await call("DELETE", "/namespaces/dayu2");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({
      deleted: { kind: "Namespace", name: "dayu2" },
      alsoDeleted: [
        { kind: "JointMultiEdgeService", name: "controller", namespace: "dayu2" },
        { kind: "Service", name: "controller", namespace: "dayu2" },
      ],
    });
    expect((await call("GET", "/services/controller?namespace=dayu2")).status).toBe(404);
    expect((await call("GET", "/services/controller?namespace=dayu")).status).toBe(200);
    expect(planOf("edge1").services.map((s) => s.name)).toEqual(["controller.dayu"]);
    const names = (await call("GET", "/namespaces")).body.items?.map((n) => n.metadata.name);
    expect(names).toEqual(["dayu", "default"]);
    expect((await call("DELETE", "/namespaces/default")).status).toBe(409);
    expect((await call("DELETE", "/namespaces/nope")).status).toBe(404);
  });

  test("a Config is mounted from the service's own namespace", async () => {
    const config = (namespace: string, text: string) => ({
      apiVersion: "levee/v1",
      kind: "Config",
      metadata: { name: "settings", namespace },
      data: { "app.yaml": text },
    });
    const service = {
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "app", namespace: "team-a" },
      spec: {
        template: { command: ["run"], mounts: [{ target: "/etc/app", config: { name: "settings" } }] },
        workers: [{ node: "edge1" }],
      },
    };
    const applied = await call("POST", "/apply", [
      config("team-a", "a: 1\n"),
      config("team-b", "b: 2\n"),
      service,
    ]);
    expect(applied.status).toBe(200);
    const plan = planOf("edge1");
    expect(Object.keys(plan.configFiles).sort()).toEqual(["settings.team-a"]);
    const app = plan.services.find((s) => s.name === "app.team-a");
    const template = app?.workers[0]?.template as { mounts?: { config: { name: string } }[] } | undefined;
    expect(template?.mounts?.[0]?.config.name).toBe("settings.team-a");
  });

  test("a bad namespace is a 400 naming it", async () => {
    const res = await call("GET", "/services/x?namespace=Not_A_Label");
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toMatch(/namespace must be a DNS label/);
  });
});

describe("the namespaces migration", () => {
  test("a Dayu object written before namespaces moves to its namespace with what it made and its port", () => {
    const dir = makeTempDir();
    const db = new Database(join(dir, "levee.db"));
    const before = migrations.filter((m) => m.version < 8);
    for (const m of before) db.exec(m.sql);
    db.exec(`PRAGMA user_version = ${before.at(-1)?.version}`);
    db.exec(`INSERT INTO meta (key, value) VALUES ('mode', 'cloud'), ('created', 'x'), ('node-name', 'hq')`);
    const insert = db.query(
      `INSERT INTO resources (kind, name, uid, generation, resource_version, labels, spec, created_at, updated_at)
       VALUES (?, ?, 'u', 1, 1, '{}', ?, 'x', 'x')`,
    );
    insert.run("JointMultiEdgeService", "controller", JSON.stringify({ namespace: "dayu", spec: {} }));
    insert.run("Service", "controller", JSON.stringify({ workers: [] }));
    insert.run("Service", "plain", JSON.stringify({ workers: [] }));
    insert.run("ImageMap", "dev", JSON.stringify({ images: [] }));
    db.exec(
      "INSERT INTO owned_resources (kind, name, owner_kind, owner_name) VALUES ('Service', 'controller', 'JointMultiEdgeService', 'controller')",
    );
    db.exec(
      "INSERT INTO dayu_ports (service, port, allocated_at, used_at) VALUES ('controller', 30123, 'x', 'x')",
    );
    db.close();
    const migrated = openStore({ dataDir: dir, mode: "cloud" });
    try {
      const rows = migrated.db
        .query<{ kind: string; name: string; namespace: string }, []>(
          "SELECT kind, name, namespace FROM resources ORDER BY kind, name",
        )
        .all();
      expect(rows).toEqual([
        { kind: "ImageMap", name: "dev", namespace: "" },
        { kind: "JointMultiEdgeService", name: "controller.dayu", namespace: "dayu" },
        { kind: "Namespace", name: "dayu", namespace: "" },
        { kind: "Namespace", name: "default", namespace: "" },
        { kind: "Service", name: "controller.dayu", namespace: "dayu" },
        { kind: "Service", name: "plain", namespace: "default" },
      ]);
      expect(migrated.db.query("SELECT * FROM owned_resources").all()).toEqual([
        {
          kind: "Service",
          name: "controller.dayu",
          owner_kind: "JointMultiEdgeService",
          owner_name: "controller.dayu",
        },
      ]);
      expect(migrated.db.query("SELECT service, port FROM dayu_ports").all()).toEqual([
        { service: "controller.dayu", port: 30123 },
      ]);
    } finally {
      migrated.close();
    }
  });
});
