// Roles and system labels: a joining node cannot make itself the cloud. The
// join refuses labels under levee.io/, a node's role comes from how it joined, applying a Node
// cannot change it, the catalog takes the cloud (the relay) from the role, and a store written
// before roles existed is repaired by its migration.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readCatalogInput } from "../../src/cloud/catalog/catalog-publisher.ts";
import { deriveCatalog } from "../../src/cloud/catalog/derive.ts";
import { getNode, joinNode } from "../../src/cloud/node-registry.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { migrations } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../harness/cloud-api.ts";
import { makeTempDir } from "../harness/cluster.ts";

const { store, app } = inProcessCloud();
afterAll(() => store.close());
// The cloud's own node, registered as cloud-agent.ts does.
joinNode(
  store,
  mosquittoHasher,
  { name: "cloud", labels: {}, addresses: ["10.0.0.1"], agentVersion: "", arch: "" },
  () => {},
  "cloud",
);

const auth = { authorization: `Bearer ${ADMIN}` };
const call = (path: string, init: RequestInit = {}) =>
  app.request(`/api/v1${path}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
async function token(): Promise<string> {
  const res = await call("/tokens", { method: "POST", body: JSON.stringify({ uses: 5, ttl: "1h" }) });
  return (await json(res)).token as string;
}
const joinAs = (name: string, labels: Record<string, string>, t: string) =>
  app.request("/api/v1/join", {
    method: "POST",
    body: JSON.stringify({ v: 1, token: t, node: { name, labels, addresses: ["10.0.0.9"] } }),
  });

describe("node roles", () => {
  test("a join that claims levee.io/role: cloud is refused with the label's path, and uses no token", async () => {
    const t = await token();
    const res = await joinAs("mallory", { "levee.io/role": "cloud", zone: "a" }, t);
    expect(res.status).toBe(400);
    expect((await json(res)).issues).toEqual([
      { path: 'node.labels["levee.io/role"]', message: expect.stringContaining("set by the cloud") },
    ]);
    expect(getNode(store, "mallory")).toBeUndefined();
    // any other system label too
    expect((await joinAs("mallory", { "levee.io/relay": "yes" }, t)).status).toBe(400);
    // the token is still good for an honest join
    expect((await joinAs("edge1", { zone: "a" }, t)).status).toBe(201);
  });

  test("roles come from how a node joined: the cloud is the only cloud, in the API and in the catalog", async () => {
    expect(getNode(store, "edge1")?.metadata.labels).toEqual({ zone: "a", "levee.io/role": "edge" });
    expect(getNode(store, "cloud")?.metadata.labels).toEqual({ "levee.io/role": "cloud" });
    const catalog = deriveCatalog(readCatalogInput(store));
    expect(catalog.nodes.filter((n) => n.role === "cloud").map((n) => n.name)).toEqual(["cloud"]);
  });

  test("applying a Node cannot change its role; the same value round-trips", async () => {
    const node = (labels: string) =>
      `apiVersion: levee/v1\nkind: Node\nmetadata: {name: edge1, labels: {${labels}}}\n`;
    const promote = await call("/apply", { method: "POST", body: node('"levee.io/role": cloud') });
    expect(promote.status).toBe(400);
    expect((await json(promote)).issues).toEqual([
      expect.objectContaining({ path: 'metadata.labels["levee.io/role"]' }),
    ]);
    const invent = await call("/apply", { method: "POST", body: node('"levee.io/owner": me') });
    expect(invent.status).toBe(400);
    // as read back: accepted, and only the node's own labels are stored
    const same = await call("/apply", { method: "POST", body: node('"levee.io/role": edge, zone: b') });
    expect(same.status).toBe(200);
    expect(getNode(store, "edge1")?.metadata.labels).toEqual({ zone: "b", "levee.io/role": "edge" });
    // leaving the system label out does not demote the cloud
    expect((await call("/apply", { method: "POST", body: node("").replace("edge1", "cloud") })).status).toBe(
      200,
    );
    expect(getNode(store, "cloud")?.metadata.labels).toEqual({ "levee.io/role": "cloud" });
    expect(deriveCatalog(readCatalogInput(store)).nodes.find((n) => n.name === "cloud")?.role).toBe("cloud");
  });
});

describe("the node-roles migration", () => {
  test("a store from before roles: the cloud's own node becomes the cloud, a node that claimed it does not", () => {
    const dir = makeTempDir();
    const db = new Database(join(dir, "levee.db"));
    const before = migrations.filter((m) => m.version < 6);
    for (const m of before) db.exec(m.sql);
    db.exec(`PRAGMA user_version = ${before.at(-1)?.version}`);
    db.exec(`INSERT INTO meta (key, value) VALUES ('mode', 'cloud'), ('created', 'x'), ('node-name', 'hq')`);
    const insert = db.query(
      `INSERT INTO nodes (name, uid, labels, mqtt_password_hash, joined_at, phase_since) VALUES (?, ?, ?, 'h', 'x', 'x')`,
    );
    insert.run("hq", "u1", JSON.stringify({ "levee.io/role": "cloud" }));
    insert.run("mallory", "u2", JSON.stringify({ "levee.io/role": "cloud", zone: "a" }));
    db.close();
    const migrated = openStore({ dataDir: dir, mode: "cloud" });
    try {
      expect(getNode(migrated, "hq")?.metadata.labels).toEqual({ "levee.io/role": "cloud" });
      expect(getNode(migrated, "mallory")?.metadata.labels).toEqual({ zone: "a", "levee.io/role": "edge" });
      const stored = migrated.db
        .query<{ labels: string }, []>("SELECT labels FROM nodes WHERE name = 'mallory'")
        .get();
      expect(JSON.parse(stored?.labels ?? "")).toEqual({ zone: "a" });
    } finally {
      migrated.close();
    }
  });
});
