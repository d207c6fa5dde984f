// `levee ctl convert` as a real process (no server), and how `apply` / `delete` / `get` speak about
// Dayu's objects, against a scripted API in the test process.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, runLevee } from "../harness/cluster.ts";

const dir = makeTempDir();
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const JMES = `apiVersion: sedna.io/v1alpha1
kind: JointMultiEdgeService
metadata: {name: controller, namespace: dayu}
spec:
  serviceConfig: {pos: both, port: 9000, targetPort: 9000, nodePort: 30901}
  edgeWorker:
    - logLevel: {level: DEBUG}
      template:
        spec:
          nodeName: edge1
          serviceAccountName: worker-admin
          containers:
            - name: controller
              image: repo:5000/dayuhub/controller:v1.3
              env:
                - {name: GUNICORN_PORT, value: "9000"}
                - {name: DISPLAY, value: "True"}
                - {name: KUBERNETES_SERVICE_HOST, value: "10.0.0.1"}
                - {name: KUBERNETES_SERVICE_PORT, value: "6443"}
  cloudWorker:
    logLevel: {level: DEBUG}
    template:
      spec:
        nodeName: cloud
        containers:
          - name: controller
            image: repo:5000/dayuhub/controller:v1.3
            env: [{name: GUNICORN_PORT, value: "9000"}, {name: DISPLAY, value: "True"}]
`;

const NATIVE = `apiVersion: levee/v1
kind: Service
metadata: {name: echo}
spec: {template: {command: [node, echo.js]}, workers: [{node: edge1}]}
`;

describe("levee ctl convert", () => {
  test("prints the native manifests as YAML documents, warnings on stderr, without a server", async () => {
    const path = file("pipeline.yaml", `${NATIVE}---\n${JMES}`);
    // A server that does not exist: convert must not need one.
    const r = await runLevee(["ctl", "convert", "-f", path, "--server", "http://127.0.0.1:9"]);
    expect(r.code).toBe(0);
    const docs = r.stdout.split(/^---$/m).map((d) => Bun.YAML.parse(d) as unknown);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toEqual(Bun.YAML.parse(NATIVE));
    expect(docs[1]).toEqual({
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "controller" },
      spec: {
        template: {
          driver: "container",
          image: "repo:5000/dayuhub/controller:v1.3",
          port: "auto",
          portEnv: ["GUNICORN_PORT"],
          env: {
            DISPLAY: "True",
            NAMESPACE: "dayu",
            LOG_LEVEL: "DEBUG",
            DATA_PATH_PREFIX: "/home/data",
            VOLUME_NUM: "0",
          },
        },
        workers: [
          {
            node: "edge1",
            template: { agentUrlEnv: ["LC_SERVER"], kubeApi: { serviceAccount: "worker-admin" } },
          },
          { node: "cloud" },
        ],
        mesh: { port: 30901, protocol: "tcp", fallback: "none" },
      },
    });
    // serviceAccountName is kubeApi; the apiserver's address Dayu writes is replaced by the agent's.
    expect(r.stderr).toBe(
      "warning: jointmultiedgeservice/controller: spec.edgeWorker[0].template.spec.containers[0].env: " +
        "KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT: levee points each worker at its own node's agent, which " +
        "serves the Kubernetes API and sets these itself; replaced\n",
    );
  });

  test("-o json prints a List that apply reads back", async () => {
    const path = file("one.yaml", JMES);
    const r = await runLevee(["ctl", "convert", "-f", path, "-o", "json"]);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as {
      kind: string;
      items: { kind: string; metadata: { name: string } }[];
    };
    expect(list.kind).toBe("List");
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual(["Service/controller"]);
  });

  test("a manifest the API would refuse fails like apply (exit 2, a line per issue); no -f is a usage error", async () => {
    const bad = file("bad.yaml", JMES.replace("nodeName: edge1", 'nodeName: ""'));
    const r = await runLevee(["ctl", "convert", "-f", bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "levee ctl convert: invalid manifest; nothing was converted\n" +
        "  spec.edgeWorker[0].template.spec.nodeName: required: levee runs every worker on the node named here\n",
    );
    const usage = await runLevee(["ctl", "convert"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing -f FILE/);
  });
});

describe("apply, delete and get of Dayu objects", () => {
  const seen: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push(`${req.method} ${url.pathname}`);
      if (req.method === "POST" && url.pathname === "/api/v1/apply") {
        return Response.json({
          results: [
            { kind: "JointMultiEdgeService", name: "controller", outcome: "created", generation: 1 },
            {
              kind: "Service",
              name: "controller",
              outcome: "created",
              generation: 1,
              owner: { kind: "JointMultiEdgeService", name: "controller" },
            },
          ],
          warnings: [
            {
              document: 0,
              kind: "JointMultiEdgeService",
              name: "controller",
              path: "spec.cloudWorker.template.spec.dnsPolicy",
              message: "no cluster DNS; ignored",
            },
          ],
        });
      }
      if (req.method === "DELETE" && url.pathname === "/api/v1/jointmultiedgeservices/controller") {
        return Response.json({
          deleted: { kind: "JointMultiEdgeService", name: "controller" },
          alsoDeleted: [{ kind: "Service", name: "controller" }],
        });
      }
      if (req.method === "GET" && url.pathname === "/api/v1/jointmultiedgeservices") {
        return Response.json({
          items: [
            {
              apiVersion: "sedna.io/v1alpha1",
              kind: "JointMultiEdgeService",
              metadata: {
                name: "controller",
                namespace: "dayu",
                generation: 2,
                creationTimestamp: new Date().toISOString(),
              },
              spec: {},
              status: { made: [], meshPort: 30901, workers: [], ready: "1/2" },
            },
          ],
        });
      }
      return Response.json({ error: "no such endpoint" }, { status: 404 });
    },
  });
  afterAll(() => server.stop(true));
  const ctl = (...args: string[]) =>
    runLevee(["ctl", ...args, "--server", `http://127.0.0.1:${server.port}`, "--token", "t0ken"]);

  test("apply prints what was made from what, and the warnings on stderr", async () => {
    const r = await ctl("apply", "-f", file("apply.yaml", JMES));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "jointmultiedgeservice/controller created\nservice/controller created (from jointmultiedgeservice/controller)\n",
    );
    expect(r.stderr).toBe(
      "warning: jointmultiedgeservice/controller: spec.cloudWorker.template.spec.dnsPolicy: no cluster DNS; ignored\n",
    );
  });

  test("delete jmes NAME and get jmes use the Dayu collection", async () => {
    const del = await ctl("delete", "jmes", "controller");
    expect(del.code).toBe(0);
    expect(del.stdout).toBe(
      "jointmultiedgeservice/controller deleted\nservice/controller deleted (with jointmultiedgeservice/controller)\n",
    );
    const get = await ctl("get", "jmes");
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(
      /^NAME\s+NAMESPACE\s+READY\s+PORT\s+GENERATION\s+AGE\ncontroller\s+dayu\s+1\/2\s+30901\s+2\s+\d+s\n$/,
    );
    expect(seen).toContain("DELETE /api/v1/jointmultiedgeservices/controller");
  });
});
