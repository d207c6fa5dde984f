// Dayu's objects through the cloud API in-process (hono app.request, a real store, no sockets):
// apply → the owned Service, warnings with their document, update in place, delete removes exactly
// what was made, mesh ports kept across re-applies and re-creations, ownership conflicts, ImageMaps
// that re-translate, RuntimeService revisions, atomicity with the rest of the request.
import { afterAll, describe, expect, test } from "bun:test";
import { allocatePort, PORT_RANGE, PortsExhausted } from "../../src/cloud/dayu/ports.ts";
import { ADMIN_TOKEN as ADMIN, inProcessCloud } from "../harness/cloud-api.ts";

const { store, app } = inProcessCloud();
afterAll(() => store.close());

type Json = Record<string, unknown> & { results?: Result[]; warnings?: Warning[]; issues?: Warning[] };
type Result = {
  kind: string;
  name: string;
  outcome: string;
  generation?: number;
  owner?: { kind: string; name: string };
};
type Warning = { document?: number; kind?: string; name?: string; path: string; message: string };

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.request(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
const apply = (...objects: unknown[]) => call("POST", "/apply", objects);

const container = (image = "repo/controller:1", extra: Record<string, unknown> = {}) => ({
  name: "main",
  image,
  env: [
    { name: "GUNICORN_PORT", value: "9000" },
    { name: "DISPLAY", value: "True" },
  ],
  ...extra,
});
const pod = (node: string, podExtra: Record<string, unknown> = {}) => ({
  logLevel: { level: "INFO" },
  template: {
    spec: {
      nodeName: node,
      serviceAccountName: "worker-admin",
      dnsPolicy: "ClusterFirstWithHostNet",
      containers: [container()],
      ...podExtra,
    },
  },
});
function jmes(
  name: string,
  edges: string[],
  serviceConfig: Record<string, unknown> = { pos: "both", port: 9000 },
) {
  return {
    apiVersion: "sedna.io/v1alpha1",
    kind: "JointMultiEdgeService",
    metadata: { name, namespace: "dayu" },
    spec: { serviceConfig, edgeWorker: edges.map((n) => pod(n)), cloudWorker: pod("cloud") },
  };
}
const native = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "levee/v1",
  kind: "Service",
  metadata: { name, namespace: "dayu" },
  spec: { template: { command: ["run"] }, workers: [{ node: "edge1" }], ...extra },
});

async function service(name: string) {
  return (await call("GET", `/services/${name}?namespace=dayu`)).body as {
    metadata: { labels: Record<string, string> };
    spec: { template: Record<string, unknown>; workers: { node: string }[]; mesh?: { port: number } };
  };
}

describe("apply", () => {
  test("a JointMultiEdgeService makes its Service; warnings name document, object and path", async () => {
    const { status, body } = await apply(native("other"), jmes("controller", ["edge1", "edge2"]));
    expect(status).toBe(200);
    const ns = { namespace: "dayu" };
    expect(body.results).toEqual([
      { kind: "Namespace", name: "dayu", outcome: "created", generation: 1 },
      { kind: "Service", name: "other", ...ns, outcome: "created", generation: 1 },
      { kind: "JointMultiEdgeService", name: "controller", ...ns, outcome: "created", generation: 1 },
      {
        kind: "Service",
        name: "controller",
        ...ns,
        outcome: "created",
        generation: 1,
        owner: { kind: "JointMultiEdgeService", name: "controller", ...ns },
      },
    ]);
    // serviceAccountName is Kubernetes API access (kubeApi); dnsPolicy is not honoured.
    expect(body.warnings).toEqual([
      {
        document: 1,
        kind: "JointMultiEdgeService",
        name: "controller",
        path: "spec.edgeWorker[0].template.spec.dnsPolicy",
        message: expect.stringMatching(/no cluster DNS.*\(also in 2 more places\)$/),
      },
    ]);
    const made = await service("controller");
    expect(made.spec.template.kubeApi).toEqual({ serviceAccount: "worker-admin" });
    expect(made.metadata.labels).toEqual({
      "levee.io/owner-kind": "JointMultiEdgeService",
      "levee.io/owner-name": "controller",
    });
    expect(made.spec.workers.map((w) => w.node)).toEqual(["edge1", "edge2", "cloud"]);
    const port = made.spec.mesh?.port ?? 0;
    expect(port).toBeGreaterThanOrEqual(PORT_RANGE.min);
    expect(port).toBeLessThanOrEqual(PORT_RANGE.max);
  });

  test("the stored object comes back as written, with its status", async () => {
    const { status, body } = await call("GET", "/jointmultiedgeservices/controller?namespace=dayu");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      apiVersion: "sedna.io/v1alpha1",
      kind: "JointMultiEdgeService",
      metadata: { name: "controller", namespace: "dayu", generation: 1 },
      spec: jmes("controller", ["edge1", "edge2"]).spec,
      status: {
        made: [{ kind: "Service", name: "controller" }],
        meshPort: (await service("controller")).spec.mesh?.port,
      },
    });
    const list = await call("GET", "/jointmultiedgeservices");
    expect((list.body.items as { metadata: { name: string } }[]).map((o) => o.metadata.name)).toEqual([
      "controller",
    ]);
    expect((await call("GET", "/jointmultiedgeservices/nope?namespace=dayu")).status).toBe(404);
  });

  test("re-applying is unchanged and keeps the port; a change updates in place (removed workers go)", async () => {
    const port = (await service("controller")).spec.mesh?.port;
    const again = await apply(jmes("controller", ["edge1", "edge2"]));
    expect(again.body.results?.map((r) => r.outcome)).toEqual(["unchanged", "unchanged"]);
    const changed = await apply(jmes("controller", ["edge1"]));
    expect(changed.body.results?.map((r) => `${r.kind} ${r.outcome}`)).toEqual([
      "JointMultiEdgeService configured",
      "Service configured",
    ]);
    const made = await service("controller");
    expect(made.spec.workers.map((w) => w.node)).toEqual(["edge1", "cloud"]);
    expect(made.spec.mesh?.port).toBe(port);
  });

  test("the output of GET applies again; its resourceVersion is checked, a foreign one is ignored", async () => {
    const current = (await call("GET", "/jointmultiedgeservices/controller?namespace=dayu")).body as Record<
      string,
      never
    > & {
      metadata: { resourceVersion: string; uid: string };
    };
    expect((await apply(current)).body.results?.[0]?.outcome).toBe("unchanged");
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: "1" } };
    const conflict = await apply({ ...stale, spec: jmes("controller", ["edge2"]).spec });
    expect(conflict.status).toBe(409);
    expect(conflict.body.issues?.[0]).toMatchObject({ document: 0, path: "metadata.resourceVersion" });
    const foreign = { ...stale, metadata: { ...stale.metadata, uid: "from-a-kubernetes-cluster" } };
    const ok = await apply(foreign);
    expect(ok.status).toBe(200);
    expect(ok.body.warnings?.map((w) => w.path)).toContain("metadata.resourceVersion");
    expect((await service("controller")).spec.workers.map((w) => w.node)).toEqual(["edge1", "cloud"]);
  });

  test("a nodePort is the mesh port; one another service uses is refused, and nothing is applied", async () => {
    const ok = await apply(jmes("distributor", [], { pos: "cloud", port: 9000, nodePort: 30903 }));
    expect(ok.status).toBe(200);
    expect((await service("distributor")).spec.mesh).toEqual(
      expect.objectContaining({ port: 30903, protocol: "tcp", fallback: "cloud" }),
    );
    const clash = await apply(
      native("fresh"),
      jmes("scheduler", [], { pos: "cloud", port: 9000, nodePort: 30903 }),
    );
    expect(clash.status).toBe(409);
    expect(clash.body.issues?.[0]).toMatchObject({
      document: 1,
      kind: "JointMultiEdgeService",
      name: "scheduler",
      path: "spec.serviceConfig.nodePort",
      message: expect.stringMatching(/already the mesh port of service dayu\/distributor/),
    });
    expect((await call("GET", "/services/fresh?namespace=dayu")).status).toBe(404);
    expect((await call("GET", "/jointmultiedgeservices/scheduler?namespace=dayu")).status).toBe(404);
  });

  test("an invalid Dayu object refuses the whole request with its document and path", async () => {
    const bad = jmes("broken", ["edge1"]);
    bad.spec.edgeWorker[0] = pod("");
    const { status, body } = await apply(native("fresh"), bad);
    expect(status).toBe(400);
    expect(body.issues).toEqual([
      expect.objectContaining({ document: 1, path: "spec.edgeWorker[0].template.spec.nodeName" }),
    ]);
    expect((await call("GET", "/services/fresh?namespace=dayu")).status).toBe(404);
  });
});

describe("ownership", () => {
  test("a Service made from a JMES can be neither applied nor deleted on its own", async () => {
    const applied = await apply(native("controller"));
    expect(applied.status).toBe(409);
    expect(applied.body.issues?.[0]?.message).toMatch(/made from JointMultiEdgeService\/controller/);
    const deleted = await call("DELETE", "/services/controller?namespace=dayu");
    expect(deleted.status).toBe(409);
    expect((await service("controller")).spec.workers).toHaveLength(2);
  });

  test("a JMES does not take over a Service that exists on its own", async () => {
    expect((await apply(native("monitor"))).status).toBe(200);
    const taken = await apply(jmes("monitor", ["edge1"]));
    expect(taken.status).toBe(409);
    expect(taken.body.issues?.[0]?.message).toMatch(
      /Service\/monitor \(namespace dayu\) exists and was applied on its own/,
    );
    expect((await call("DELETE", "/services/monitor?namespace=dayu")).status).toBe(200);
  });

  test("deleting the JMES removes exactly what it made; its port is kept for its return", async () => {
    const port = (await service("controller")).spec.mesh?.port;
    expect((await apply(jmes("processor-a", ["edge1"]))).status).toBe(200);
    const del = await call("DELETE", "/jointmultiedgeservices/controller?namespace=dayu");
    expect(del.status).toBe(200);
    expect(del.body).toEqual({
      deleted: { kind: "JointMultiEdgeService", name: "controller", namespace: "dayu" },
      alsoDeleted: [{ kind: "Service", name: "controller", namespace: "dayu" }],
    });
    expect((await call("GET", "/services/controller?namespace=dayu")).status).toBe(404);
    expect((await call("GET", "/services/processor-a?namespace=dayu")).status).toBe(200);
    expect((await call("GET", "/services/other?namespace=dayu")).status).toBe(200);
    expect((await call("DELETE", "/jointmultiedgeservices/controller?namespace=dayu")).status).toBe(404);
    // Dayu redeploys by delete and create: the port comes back.
    expect((await apply(jmes("processor-b", ["edge2"]))).status).toBe(200);
    expect((await apply(jmes("controller", ["edge1"]))).status).toBe(200);
    expect((await service("controller")).spec.mesh?.port).toBe(port);
    const ports = ["controller", "processor-a", "processor-b", "distributor"];
    const all = await Promise.all(ports.map(async (n) => (await service(n)).spec.mesh?.port));
    expect(new Set(all).size).toBe(ports.length);
  });
});

describe("ImageMap", () => {
  const imageMap = {
    apiVersion: "levee/v1",
    kind: "ImageMap",
    metadata: { name: "dev" },
    spec: { images: [{ imagePrefix: "repo/controller:", command: ["python3", "controller.py"] }] },
  };

  test("applying one translates the stored Dayu objects again; deleting it too", async () => {
    const { status, body } = await apply(imageMap);
    expect(status).toBe(200);
    const made = body.results?.filter((r) => r.kind === "Service").map((r) => `${r.name} ${r.outcome}`);
    expect(made?.sort()).toEqual(
      [
        "controller configured",
        "distributor configured",
        "processor-a configured",
        "processor-b configured",
      ].sort(),
    );
    expect((await service("controller")).spec.template).toMatchObject({
      driver: "exec",
      command: ["python3", "controller.py"],
    });
    expect((await call("GET", "/imagemaps/dev")).status).toBe(200);
    expect((await call("DELETE", "/imagemaps/dev")).status).toBe(200);
    expect((await service("controller")).spec.template).toMatchObject({
      driver: "container",
      image: "repo/controller:1",
    });
  });

  test("two ImageMaps that map the same prefix are refused", async () => {
    const second = { ...imageMap, metadata: { name: "other" } };
    const { status, body } = await apply(imageMap, second);
    expect(status).toBe(409);
    expect(body.issues?.[0]).toMatchObject({ kind: "ImageMap", name: "other", document: 1 });
    expect((await call("GET", "/imagemaps/dev")).status).toBe(404);
  });
});

describe("RuntimeService", () => {
  const rts = (revision: number, image = "repo/processor:1") => ({
    apiVersion: "sedna.io/v1alpha1",
    kind: "RuntimeService",
    metadata: { name: `processor-edge1-r${revision}`, namespace: "dayu" },
    spec: {
      installID: "dayu",
      deploymentRevision: revision,
      component: "processor",
      targetNode: "edge1",
      podTemplate: {
        spec: { containers: [container(image, { ports: [{ containerPort: 9000 }] })] },
      },
      endpoint: { port: 9000 },
    },
  });

  test("a revision is immutable: a changed spec under the same revision is refused", async () => {
    expect((await apply(rts(1))).status).toBe(200);
    expect((await service("processor-edge1-r1")).spec.mesh).toMatchObject({ fallback: "any" });
    const changed = await apply(rts(1, "repo/processor:2"));
    expect(changed.status).toBe(409);
    expect(changed.body.issues?.[0]?.message).toMatch(/revision 1 is immutable/);
    expect((await apply(rts(2, "repo/processor:2"))).status).toBe(200);
    const deleted = await call("DELETE", "/runtimeservices/processor-edge1-r1?namespace=dayu");
    expect(deleted.body.alsoDeleted).toEqual([
      { kind: "Service", name: "processor-edge1-r1", namespace: "dayu" },
    ]);
  });
});

describe("mesh port allocation", () => {
  test("a kept port goes to another service only when the range has no other free port", () => {
    const rolledBack = new Error("roll back");
    const run = () =>
      store.tx((db) => {
        db.run("DELETE FROM dayu_ports");
        const insert = db.query(
          "INSERT INTO dayu_ports (service, port, allocated_at, used_at) VALUES (?, ?, ?, ?)",
        );
        for (let p: number = PORT_RANGE.min; p <= PORT_RANGE.max; p++) {
          insert.run(
            `s${p}`,
            p,
            "2024-01-01T00:00:00Z",
            p === 30007 ? "2023-01-01T00:00:00Z" : "2024-01-01T00:00:00Z",
          );
        }
        const live = new Map([[30007, "s30007"]]);
        // The least recently used kept port of a service that is gone: 30007 is live, so the next.
        expect(allocatePort(db, "newcomer", live).port).toBe(30000);
        expect(allocatePort(db, "s30001", live).port).toBe(30001);
        const everything = new Map<number, string>();
        for (let p: number = PORT_RANGE.min; p <= PORT_RANGE.max; p++) everything.set(p, `x${p}`);
        expect(() => allocatePort(db, "late", everything)).toThrow(PortsExhausted);
        throw rolledBack;
      });
    expect(run).toThrow(rolledBack);
    // Rolled back: the ports of the services above are as they were.
    expect(store.db.query("SELECT COUNT(*) AS n FROM dayu_ports WHERE service LIKE 's3%'").get()).toEqual({
      n: 0,
    });
  });
});
