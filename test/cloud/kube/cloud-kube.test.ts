// The Kubernetes API facade on the cloud, in-process (hono app.request over a real store and control
// plane, no sockets): discovery; nodes with the role labels Dayu reads; a JointMultiEdgeService
// created through the API becomes Deployments, Pods, a NodePort Service and Endpoints named as
// dayu-sedna names them; selectors; Status answers with the right reason; tables for kubectl;
// Sedna objects replaced, patched and deleted; pods deleted restart their workers; a watch.
import { afterAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../../harness/cloud-api.ts";
import { inProcessKubeApi } from "../../harness/kube.ts";

const { store, plane } = inProcessCloud();
afterAll(() => store.close());
registeredNode(store, "cloud");
registeredNode(store, "edge1");
registeredNode(store, "edge2");
store.db.query("UPDATE nodes SET role = 'cloud', addresses = '[\"10.0.0.1\"]' WHERE name = 'cloud'").run();
store.db.query("UPDATE nodes SET addresses = '[\"10.0.0.11\"]', phase = 'Ready' WHERE name = 'edge1'").run();

const restarted: string[] = [];
const { kube, app } = inProcessKubeApi(store, plane, (service, node, index) =>
  restarted.push(`${service}/${node}/${index}`),
);
afterAll(() => kube.close());

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes JSON, read by path in assertions
type Any = any;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/json",
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Any };
}

const container = (name: string) => ({
  name,
  image: `repo/${name}:1`,
  env: [{ name: "GUNICORN_PORT", value: "9000" }],
});
const processor = {
  apiVersion: "sedna.io/v1alpha1",
  kind: "JointMultiEdgeService",
  metadata: { name: "processor-car-detection-edge1", namespace: "dayu" },
  spec: {
    serviceConfig: { pos: "both", port: 9000, targetPort: 9000 },
    edgeWorker: [
      {
        logLevel: { level: "INFO" },
        template: {
          spec: {
            nodeName: "edge1",
            serviceAccountName: "worker-admin",
            containers: [container("processor")],
          },
        },
      },
    ],
    cloudWorker: {
      logLevel: { level: "INFO" },
      template: {
        spec: { nodeName: "cloud", serviceAccountName: "worker-admin", containers: [container("processor")] },
      },
    },
  },
};

describe("the cloud's Kubernetes API", () => {
  test("discovery: version, core resources, groups", async () => {
    expect((await call("GET", "/version")).body.major).toBe("1");
    const core = await call("GET", "/api/v1");
    expect(core.body.resources.map((r: Any) => r.name)).toContain("pods");
    const groups = await call("GET", "/apis");
    expect(groups.body.groups.map((g: Any) => g.name)).toEqual(
      expect.arrayContaining(["apps", "apiextensions.k8s.io", "sedna.io", "metrics.k8s.io"]),
    );
    const sedna = await call("GET", "/apis/sedna.io/v1alpha1");
    expect(sedna.body.resources[0]).toMatchObject({
      name: "jointmultiedgeservices",
      shortNames: ["mulji", "jmes"],
    });
  });

  test("no token or a wrong one: 401 Unauthorized as a Status", async () => {
    const res = await call("GET", "/api/v1/nodes", undefined, { authorization: "Bearer wrong" });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
  });

  test("nodes: roles, InternalIP, Ready from the phase", async () => {
    const { body } = await call("GET", "/api/v1/nodes");
    const byName = Object.fromEntries(body.items.map((n: Any) => [n.metadata.name, n]));
    expect(Object.keys(byName).sort()).toEqual(["cloud", "edge1", "edge2"]);
    expect(byName.cloud.metadata.labels["node-role.kubernetes.io/control-plane"]).toBe("");
    expect(byName.cloud.metadata.labels["node-role.kubernetes.io/master"]).toBe("");
    expect(byName.edge1.metadata.labels["node-role.kubernetes.io/edge"]).toBe("");
    expect(byName.edge1.status.addresses).toContainEqual({ type: "InternalIP", address: "10.0.0.11" });
    const ready = (n: Any) => n.status.conditions.find((c: Any) => c.type === "Ready").status;
    expect(ready(byName.edge1)).toBe("True");
    expect(ready(byName.edge2)).toBe("Unknown");
  });

  test("create a JointMultiEdgeService as Dayu's backend does; its pods, deployments, service", async () => {
    const crds = await call("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    const plural = crds.body.items.find((c: Any) => c.spec.names.kind === "JointMultiEdgeService").spec.names
      .plural;
    const created = await call("POST", `/apis/sedna.io/v1alpha1/namespaces/dayu/${plural}`, processor);
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({
      name: "processor-car-detection-edge1",
      namespace: "dayu",
      generation: 1,
    });
    const again = await call("POST", `/apis/sedna.io/v1alpha1/namespaces/dayu/${plural}`, processor);
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe("AlreadyExists");

    const pods = (await call("GET", "/api/v1/namespaces/dayu/pods")).body.items;
    expect(pods).toHaveLength(2);
    const names = pods.map((p: Any) => p.metadata.name);
    // Dayu's first regex: service car-detection, node edge1.
    const re = /^processor-(?<service>.+)-(?<node>[^-]+)-(?:edgeworker|cloudworker)(?:-|$)/;
    for (const name of names)
      expect(re.exec(name)?.groups).toEqual({ service: "car-detection", node: "edge1" });
    expect(names.some((n: string) => n.includes("-edgeworker-"))).toBe(true);
    expect(names.some((n: string) => n.includes("-cloudworker-"))).toBe(true);
    const edgePod = pods.find((p: Any) => p.spec.nodeName === "edge1");
    expect(edgePod.metadata.labels["jointmultiedge.sedna.io/name"]).toBe("processor-car-detection-edge1");
    expect(edgePod.status.phase).toBe("Pending");
    expect(edgePod.status.containerStatuses[0]).toMatchObject({
      name: "processor",
      ready: false,
      restartCount: 0,
    });

    const svc = (await call("GET", "/api/v1/namespaces/dayu/services/processor-car-detection-edge1-both"))
      .body;
    expect(svc.spec.type).toBe("NodePort");
    expect(svc.spec.ports[0]).toMatchObject({ port: 9000, targetPort: 9000 });
    const port = plane.get("Service", "processor-car-detection-edge1", "dayu")?.spec?.mesh as {
      port: number;
    };
    expect(svc.spec.ports[0].nodePort).toBe(port.port);

    const deployments = (await call("GET", "/apis/apps/v1/namespaces/dayu/deployments")).body.items;
    expect(
      deployments
        .map((d: Any) => d.metadata.name)
        .every((n: string) => n.startsWith("processor-car-detection-edge1-")),
    ).toBe(true);
  });

  test("worker status reaches the pod: phase, ready, restarts, CrashLoopBackOff", async () => {
    const insert = store.db.query(
      `INSERT INTO worker_status (service, node, idx, phase, ready, restarts, message, since, updated_at, generation)
       VALUES (?, ?, 0, ?, ?, ?, ?, '2026-12-07T00:00:00Z', '2026-12-07T00:00:00Z', 1)
       ON CONFLICT (service, node, idx) DO UPDATE SET phase = excluded.phase, ready = excluded.ready, restarts = excluded.restarts, message = excluded.message`,
    );
    insert.run("processor-car-detection-edge1.dayu", "edge1", "ready", 1, 0, "");
    insert.run(
      "processor-car-detection-edge1.dayu",
      "cloud",
      "backoff",
      0,
      4,
      "exited with code 1; restarting in 8s",
    );
    // The plans: the workers view reads them; the plan writer made them on apply.
    kube.markDirty();
    const pods = (await call("GET", "/api/v1/namespaces/dayu/pods")).body.items;
    const edge = pods.find((p: Any) => p.spec.nodeName === "edge1");
    const cloud = pods.find((p: Any) => p.spec.nodeName === "cloud");
    expect(edge.status.phase).toBe("Running");
    expect(edge.status.containerStatuses[0].ready).toBe(true);
    expect(cloud.status.containerStatuses[0]).toMatchObject({ restartCount: 4, ready: false });
    expect(cloud.status.containerStatuses[0].state.waiting.reason).toBe("CrashLoopBackOff");
  });

  test("selectors: labelSelector and fieldSelector spec.nodeName", async () => {
    const byLabel = await call(
      "GET",
      "/api/v1/namespaces/dayu/pods?labelSelector=jointmultiedge.sedna.io%2Fname%3Dcontroller",
    );
    expect(byLabel.body.items).toHaveLength(0);
    const byNode = await call("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dedge1");
    expect(byNode.body.items.map((p: Any) => p.spec.nodeName)).toEqual(["edge1"]);
    // Dayu's default: every pod with a node.
    const notNull = await call("GET", "/api/v1/namespaces/dayu/pods?fieldSelector=spec.nodeName%21%3Dnull");
    expect(notNull.body.items).toHaveLength(2);
    const bad = await call("GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx");
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/field label not supported: spec.bogus/);
  });

  test("kubectl's table: columns and -o wide columns", async () => {
    const table = await call("GET", "/api/v1/namespaces/dayu/pods", undefined, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    });
    expect(table.body.kind).toBe("Table");
    expect(table.body.columnDefinitions.map((c: Any) => c.name).slice(0, 5)).toEqual([
      "Name",
      "Ready",
      "Status",
      "Restarts",
      "Age",
    ]);
    const statuses = table.body.rows.map((r: Any) => r.cells[2]).sort();
    expect(statuses).toEqual(["CrashLoopBackOff", "Running"]);
  });

  test("not found, invalid, conflict: Status with reason and code", async () => {
    const missing = await call("GET", "/api/v1/namespaces/dayu/pods/nope");
    expect(missing.body).toMatchObject({
      kind: "Status",
      reason: "NotFound",
      code: 404,
      message: 'pods "nope" not found',
    });
    const invalid = await call("POST", "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices", {
      ...processor,
      metadata: { name: "broken", namespace: "dayu" },
      spec: { serviceConfig: { pos: "sideways", port: 9000 }, edgeWorker: processor.spec.edgeWorker },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.reason).toBe("Invalid");
    expect(invalid.body.details.causes[0].field).toBe("spec.serviceConfig.pos");
    const current = (
      await call(
        "GET",
        "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices/processor-car-detection-edge1",
      )
    ).body;
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: "1" } };
    const conflict = await call(
      "PUT",
      "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices/processor-car-detection-edge1",
      stale,
    );
    expect(conflict.status).toBe(409);
    expect(conflict.body.reason).toBe("Conflict");
  });

  test("merge patch changes the object and its generation", async () => {
    const patched = await call(
      "PATCH",
      "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices/processor-car-detection-edge1",
      {
        metadata: { labels: { team: "video" } },
        spec: { edgeWorker: [{ ...processor.spec.edgeWorker[0], logLevel: { level: "DEBUG" } }] },
      },
      { "content-type": "application/merge-patch+json" },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.labels).toEqual({ team: "video" });
    expect(patched.body.metadata.generation).toBe(2);
    expect(patched.body.spec.edgeWorker[0].logLevel.level).toBe("DEBUG");
  });

  test("deleting a pod restarts its worker", async () => {
    const pods = (await call("GET", "/api/v1/namespaces/dayu/pods?fieldSelector=spec.nodeName%3Dcloud")).body
      .items;
    const res = await call("DELETE", `/api/v1/namespaces/dayu/pods/${pods[0].metadata.name}`, {
      gracePeriodSeconds: 0,
    });
    expect(res.status).toBe(200);
    expect(res.body.kind).toBe("Pod");
    expect(restarted).toEqual(["processor-car-detection-edge1.dayu/cloud/0"]);
  });

  test("a watch sends the change of a pod", async () => {
    const list = await call("GET", "/api/v1/namespaces/dayu/pods");
    const abort = new AbortController();
    const res = await app.request(
      `/api/v1/namespaces/dayu/pods?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: abort.signal },
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // A blank line at once, so that the response head goes out before there is any change.
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("\n");
    store.db
      .query("UPDATE worker_status SET phase = 'failed', ready = 0, exit_code = 3 WHERE node = 'edge1'")
      .run();
    kube.markDirty();
    const { value } = await reader.read();
    const event = JSON.parse(new TextDecoder().decode(value));
    expect(event.type).toBe("MODIFIED");
    expect(event.object.status.phase).toBe("Failed");
    abort.abort();
  });

  test("watch=True (what the Python client sends) is a watch too", async () => {
    const list = await call("GET", "/api/v1/namespaces/dayu/pods");
    const abort = new AbortController();
    const res = await app.request(
      `/api/v1/namespaces/dayu/pods?watch=True&resourceVersion=${list.body.metadata.resourceVersion}`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: abort.signal },
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("\n");
    abort.abort();
  });

  test("deleting the JointMultiEdgeService deletes what it made", async () => {
    const res = await call(
      "DELETE",
      "/apis/sedna.io/v1alpha1/namespaces/dayu/jointmultiedgeservices/processor-car-detection-edge1",
    );
    expect(res.body).toMatchObject({ kind: "Status", status: "Success" });
    expect((await call("GET", "/api/v1/namespaces/dayu/pods")).body.items).toEqual([]);
    expect(plane.get("Service", "processor-car-detection-edge1", "dayu")).toBeUndefined();
  });
});
