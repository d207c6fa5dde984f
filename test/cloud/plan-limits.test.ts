// Per-node limits and deliverable plans, in-process (a real store and control plane, no sockets):
// an apply that would put more on a node than its limits allow (services, workers, one sync
// message) is refused with the node, the size and the limit, nothing stored; a re-plan without an
// apply (a node joins) leaves what does not fit pending, with the reason; the mesh catalog must
// fit in one message too; and a node reads only the Config content its own plan references.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { joinNode } from "../../src/cloud/node-registry.ts";
import { planLimits } from "../../src/cloud/plan-limits.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { ADMIN_TOKEN, inProcessCloud } from "../harness/cloud-api.ts";

const stores: { close(): void }[] = [];
afterAll(() => {
  for (const s of stores) s.close();
});

function cloud(limits?: Parameters<typeof planLimits>[0]) {
  const c = inProcessCloud(limits ? { limits: planLimits(limits) } : {});
  stores.push(c.store);
  return c;
}

function join(c: ReturnType<typeof cloud>, name: string, labels: Record<string, string> = {}) {
  const outcome = joinNode(
    c.store,
    mosquittoHasher,
    { name, labels, addresses: ["127.0.0.1"], agentVersion: "test", arch: "x64" },
    () => {},
  );
  if (outcome.kind !== "joined") throw new Error(`cannot join ${name}`);
  c.plane.replan(`node ${name} joined`, name);
  return outcome.credentials;
}

const service = (
  name: string,
  workers: unknown[],
  template: Record<string, unknown> = {},
  mesh?: Record<string, unknown>,
) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name },
  spec: { template: { command: ["sleep", "1000"], ...template }, workers, ...(mesh ? { mesh } : {}) },
});

type Issue = { kind: string; name: string; path: string; message: string };

/** POST /api/v1/apply; the status and the JSON answer. */
async function apply(c: ReturnType<typeof cloud>, objects: unknown[]) {
  const res = await c.app.request("/api/v1/apply", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(objects),
  });
  return { status: res.status, body: (await res.json()) as { error?: string; issues?: Issue[] } };
}

async function refused(c: ReturnType<typeof cloud>, objects: unknown[]): Promise<Issue> {
  const { status, body } = await apply(c, objects);
  expect(status, JSON.stringify(body)).toBe(409);
  return body.issues?.[0] as Issue;
}

async function accepted(c: ReturnType<typeof cloud>, objects: unknown[]): Promise<void> {
  const { status, body } = await apply(c, objects);
  expect(status, JSON.stringify(body)).toBe(200);
}

describe("per-node limits at apply", () => {
  test("3,000 services on one node are refused with the default limit; nothing is stored", async () => {
    const c = cloud();
    join(c, "edge1");
    const many = Array.from({ length: 3000 }, (_, i) => service(`s-${i}`, [{ node: "edge1" }]));
    const issue = await refused(c, many);
    expect(issue.message).toContain("node edge1 already runs 250 services");
    expect(issue.message).toContain("--max-services-per-node");
    expect(issue).toMatchObject({ kind: "Service", path: "spec.workers" });
    expect(c.plane.list("Service")).toHaveLength(0);
    expect(c.store.db.query("SELECT plan FROM plans WHERE node = 'edge1'").get()).toEqual({
      plan: JSON.stringify({ configFiles: {}, node: "edge1", services: [] }),
    });
  });

  test("workers per node: the service that crosses the limit is named, the ones before stay", async () => {
    const c = cloud({ workersPerNode: 10 });
    join(c, "edge1");
    await accepted(c, [service("a", [{ node: "edge1", replicas: 6 }])]);
    const issue = await refused(c, [service("b", [{ node: "edge1", replicas: 5 }])]);
    expect(issue).toMatchObject({ kind: "Service", name: "b" });
    expect(issue.message).toContain(
      "node edge1 would run 11 workers, the limit (--max-workers-per-node) is 10",
    );
    // Growing a service that runs there is refused the same way; a fitting change is accepted.
    await refused(c, [service("a", [{ node: "edge1", replicas: 11 }])]);
    await accepted(c, [service("a", [{ node: "edge1", replicas: 10 }])]);
  });

  test("a plan larger than one sync message is refused with its size and the limit", async () => {
    const c = cloud({ servicesPerNode: 100 });
    join(c, "edge1");
    const big = (i: number) =>
      service(`big-${i}`, [{ node: "edge1" }], { env: { PAD: "x".repeat(200_000) } });
    await accepted(c, [big(1), big(2), big(3), big(4)]);
    const issue = await refused(c, [big(5), big(6)]);
    expect(issue.message).toMatch(/node edge1's plan would be \d+ bytes, more than the \d+ one sync message/);
    expect(c.plane.list("Service")).toHaveLength(4);
  });

  test("a mesh catalog larger than one sync message is refused at apply", async () => {
    const c = cloud({ workersPerNode: 100_000 });
    for (let i = 0; i < 30; i++) join(c, `n${i}`, { pool: "all" });
    const mesh = service("wide", [{ nodeSelector: { pool: "all" }, replicas: 1000 }], {}, { port: 30080 });
    const issue = await refused(c, [mesh]);
    expect(issue.message).toMatch(/the mesh catalog .* would be \d+ bytes, more than the 1048576/);
    expect(c.plane.list("Service")).toHaveLength(0);
  });
});

describe("re-plans without an apply", () => {
  test("what does not fit on a joining node stays pending with the reason, and an event", async () => {
    const c = cloud({ servicesPerNode: 1 });
    await accepted(c, [
      service("pinned", [{ node: "edge2" }]),
      service("selected", [{ nodeSelector: { zone: "a" } }]),
    ]);
    join(c, "edge2", { zone: "a" });
    const plan = c.store.db.query<{ plan: string }, []>("SELECT plan FROM plans WHERE node = 'edge2'").get();
    expect(
      (JSON.parse(plan?.plan ?? "{}") as { services: { name: string }[] }).services.map((s) => s.name),
    ).toEqual(["pinned"]);
    const res = await c.app.request("/api/v1/workers?service=selected", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const items = ((await res.json()) as { items: { node: string; phase: string; message: string }[] }).items;
    expect(items).toEqual([
      expect.objectContaining({
        node: "edge2",
        phase: "pending",
        message: "not placed: node edge2 already runs 1 services, the limit (--max-services-per-node) is 1",
      }),
    ]);
    const events = c.store.db
      .query<{ name: string; reason: string }, []>(
        "SELECT name, reason FROM events WHERE reason = 'NotPlaced'",
      )
      .all();
    expect(events).toEqual([{ name: "selected", reason: "NotPlaced" }]);
    // A re-apply of the unchanged manifests is not refused for it.
    await accepted(c, [service("selected", [{ nodeSelector: { zone: "a" } }])]);
  });
});

describe("Config content by reference", () => {
  test("a node reads only the Config files its own plan references", async () => {
    const c = cloud();
    const edge1 = join(c, "edge1");
    const edge2 = join(c, "edge2");
    const text = "secret: 42\n";
    await accepted(c, [
      { apiVersion: "levee/v1", kind: "Config", metadata: { name: "app" }, data: { "app.conf": text } },
      service("web", [{ node: "edge1" }], { mounts: [{ config: { name: "app" }, envName: "APP" }] }),
    ]);
    const sha = createHash("sha256").update(text).digest("hex");
    const plan = c.store.db.query<{ plan: string }, []>("SELECT plan FROM plans WHERE node = 'edge1'").get();
    expect(JSON.parse(plan?.plan ?? "{}").configFiles).toEqual({
      app: { "app.conf": { sha256: sha, size: 11 } },
    });
    expect(plan?.plan).not.toContain("secret");
    const get = (creds?: { username: string; password: string }) =>
      c.app.request(`/api/v1/config-content/${sha}`, {
        headers: creds
          ? {
              authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`,
            }
          : {},
      });
    const mine = await get(edge1);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toBe(text);
    const other = await get(edge2);
    expect(other.status).toBe(404);
    expect(await other.text()).toContain("node edge2's current plan references no Config file");
    expect((await get()).status).toBe(401);
    expect((await get({ username: "edge1", password: "wrong" })).status).toBe(401);
  });
});
