// JointMultiEdgeService → native Service: workers, Sedna's env, ports and pos, probes (what is
// refused and warned about: jmes-refused-warned.test.ts; mounts: mounts.test.ts; ImageMap:
// image-map.test.ts).
import { describe, expect, test } from "bun:test";
import { serviceSchema } from "../../../src/manifest/service.ts";
import {
  container,
  context,
  env,
  expectIssue,
  jmes,
  resolved,
  translate,
  warningAt,
  worker,
} from "./helpers.ts";

const gunicorn = (extra: Record<string, string> = {}) =>
  container("repo:5000/dayuhub/controller:v1.3", {
    env: env({ DISPLAY: "True", NAMESPACE: "from-template", GUNICORN_PORT: "9000", ...extra }),
    ports: [{ containerPort: 9000 }],
  });

/** Dayu's controller: an edge worker per edge, a cloud worker, the port open on both. */
const controller = (
  serviceConfig: Record<string, unknown> | null = { pos: "both", port: 9000, targetPort: 9000 },
) =>
  jmes({
    ...(serviceConfig ? { serviceConfig } : {}),
    edgeWorker: [
      worker("edge1", [gunicorn()], { logLevel: { level: "DEBUG" } }),
      worker("edge2", [gunicorn()], { logLevel: { level: "DEBUG" } }),
    ],
    cloudWorker: worker("cloud", [gunicorn()], { logLevel: { level: "DEBUG" } }),
  });

describe("workers", () => {
  test("one worker per edgeWorker entry and the cloudWorker, pinned by nodeName, in that order", () => {
    const { service } = translate(controller());
    expect(service.metadata.name).toBe("controller");
    expect(service.spec.workers.map((w) => w.node)).toEqual(["edge1", "edge2", "cloud"]);
    expect(serviceSchema.safeParse(service).success).toBe(true);
  });

  test("node names as Kubernetes allows them (DNS subdomains, as in dayu-sedna's sample) are kept", () => {
    const c = container("img:1", {
      env: [{ name: "MY_NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
    });
    const { service } = translate(
      jmes({ edgeWorker: [worker("edge.site-a", [c])], cloudWorker: worker("cloud.kubeedge", [c]) }),
    );
    expect(service.spec.workers.map((w) => w.node)).toEqual(["edge.site-a", "cloud.kubeedge"]);
    expect(resolved(service, 1).env?.MY_NODE).toBe("cloud.kubeedge");
    expect(serviceSchema.safeParse(service).success).toBe(true);
  });

  test("containers → the container driver: image, command/args, privileged, runAsUser/runAsGroup", () => {
    const c = container("registry.local/cam:2", {
      command: ["python3", "main.py"],
      args: ["--fast"],
      workingDir: "/app",
      securityContext: { privileged: true, runAsUser: 1000, runAsGroup: 44 },
    });
    const t = resolved(translate(jmes({ cloudWorker: worker("cloud", [c]) })).service, 0);
    expect(t).toMatchObject({
      driver: "container",
      image: "registry.local/cam:2",
      command: ["python3", "main.py"],
      args: ["--fast"],
      workingDir: "/app",
      privileged: true,
      user: 1000,
      group: 44,
    });
  });

  test("a pod with several containers: one worker per container on the same node", () => {
    const a = container("gen:1", { name: "gen-a", env: env({ SOURCE_ID: "0" }) });
    const b = container("gen:1", { name: "gen-b", env: env({ SOURCE_ID: "1" }) });
    const { service } = translate(jmes({ edgeWorker: [worker("edge1", [a, b])] }, { name: "generator" }));
    expect(service.spec.workers.map((w) => w.node)).toEqual(["edge1", "edge1"]);
    expect(resolved(service, 0).env?.SOURCE_ID).toBe("0");
    expect(resolved(service, 1).env?.SOURCE_ID).toBe("1");
    expect(service.spec.template.image).toBe("gen:1");
  });

  test("an empty cloudWorker ({}) is no worker, as in Sedna", () => {
    const { service } = translate(jmes({ edgeWorker: [worker("edge1")], cloudWorker: {} }));
    expect(service.spec.workers.map((w) => w.node)).toEqual(["edge1"]);
  });

  test("restartPolicy and terminationGracePeriodSeconds", () => {
    const pod = worker(
      "edge1",
      [container()],
      {},
      { restartPolicy: "OnFailure", terminationGracePeriodSeconds: 45 },
    );
    const t = resolved(translate(jmes({ edgeWorker: [pod] })).service, 0);
    expect(t.restart).toEqual({ policy: "on-failure" });
    expect(t.stopTimeout).toBe("45s");
  });
});

describe("Sedna's env", () => {
  test("NAMESPACE, LOG_LEVEL, DATA_PATH_PREFIX, VOLUME_NUM on top of the container's env, byte-exact", () => {
    const tricky = "{'device': 0, \"x\": [1, 2]}\n";
    const c = container("img:1", { env: env({ PARAMS: tricky, LOG_LEVEL: "ERROR", NAMESPACE: "nope" }) });
    const t = resolved(
      translate(jmes({ edgeWorker: [worker("edge1", [c], { logLevel: { level: "DEBUG" } })] })).service,
      0,
    );
    expect(t.env).toEqual({
      PARAMS: tricky,
      NAMESPACE: "dayu",
      LOG_LEVEL: "DEBUG",
      DATA_PATH_PREFIX: "/home/data",
      VOLUME_NUM: "0",
    });
  });

  test("without logLevel the container's LOG_LEVEL stays; NAMESPACE defaults to default", () => {
    const c = container("img:1", { env: env({ LOG_LEVEL: "WARNING" }) });
    const t = resolved(
      translate(jmes({ edgeWorker: [worker("edge1", [c])] }, { namespace: undefined })).service,
      0,
    );
    expect(t.env?.LOG_LEVEL).toBe("WARNING");
    expect(t.env?.NAMESPACE).toBe("default");
  });

  test("NODE_NAME and SERVICE_NAME are the agent's (same values), not in the env", () => {
    const c = container("img:1", { env: env({ NODE_NAME: "liar", SERVICE_NAME: "liar", KEEP: "1" }) });
    const t = resolved(translate(jmes({ edgeWorker: [worker("edge1", [c])] })).service, 0);
    expect(t.env?.NODE_NAME).toBeUndefined();
    expect(t.env?.SERVICE_NAME).toBeUndefined();
    expect(t.env?.KEEP).toBe("1");
  });

  test("LC_SERVER: the local agent's URL on edge workers only (agentUrlEnv), never a placeholder", () => {
    const c = container("img:1", { env: env({ LC_SERVER: "http://localhost:9100" }) });
    const { service } = translate(
      jmes({ edgeWorker: [worker("edge1", [c])], cloudWorker: worker("cloud", [c]) }),
    );
    const edge = resolved(service, 0);
    const cloud = resolved(service, 1);
    expect(edge.agentUrlEnv).toEqual(["LC_SERVER"]);
    expect(edge.env?.LC_SERVER).toBeUndefined();
    expect(cloud.agentUrlEnv).toBeUndefined();
    expect(cloud.env?.LC_SERVER).toBe("http://localhost:9100");
  });

  test("fieldRef spec.nodeName and metadata.namespace are resolved; others are refused", () => {
    const c = container("img:1", {
      env: [
        { name: "MY_NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "MY_NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      ],
    });
    const t = resolved(translate(jmes({ edgeWorker: [worker("edge7", [c])] })).service, 0);
    expect(t.env).toMatchObject({ MY_NODE: "edge7", MY_NS: "dayu" });
    const podIp = container("img:1", {
      env: [{ name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
    });
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [podIp])] }),
      "spec.edgeWorker[0].template.spec.containers[0].env[0].valueFrom",
      /not supported: fieldRef status\.podIP/,
    );
  });

  test("$(VAR) references are passed byte-exact, with a warning", () => {
    const c = container("img:1", {
      args: ["--port=$(GUNICORN_PORT)"],
      env: env({ URL: "http://$(HOST):1" }),
    });
    const { service, warnings } = translate(jmes({ edgeWorker: [worker("edge1", [c])] }));
    expect(resolved(service, 0).args).toEqual(["--port=$(GUNICORN_PORT)"]);
    expect(warningAt(warnings, "spec.edgeWorker[0].template.spec.containers[0].args")).toMatch(/byte-exact/);
    expect(warningAt(warnings, "spec.edgeWorker[0].template.spec.containers[0].env[0].value")).toMatch(
      /expands/,
    );
  });
});

describe("serviceConfig, ports and pos", () => {
  test("pos both: every worker gets port auto, GUNICORN_PORT follows it; the mesh port is the nodePort", () => {
    const { service } = translate(controller({ pos: "both", port: 9000, targetPort: 9000, nodePort: 30901 }));
    expect(service.spec.mesh).toEqual({ port: 30901, protocol: "tcp", fallback: "none" });
    for (const i of [0, 1, 2]) {
      const t = resolved(service, i);
      expect(t.port).toBe("auto");
      expect(t.portEnv).toEqual(["GUNICORN_PORT"]);
      expect(t.env?.GUNICORN_PORT).toBeUndefined();
    }
  });

  test("no nodePort: the port comes from the context (the cloud's kept allocation)", () => {
    const asked: [string, number | undefined][] = [];
    const ctx = context({
      meshPort: (service, requested) => {
        asked.push([service, requested]);
        return 30123;
      },
    });
    const { service } = translate(controller(), ctx);
    expect(service.spec.mesh?.port).toBe(30123);
    expect(asked).toEqual([["controller", undefined]]);
  });

  test("pos cloud: only the cloud worker serves (port), the service port falls back to the cloud", () => {
    const { service } = translate(controller({ pos: "cloud", port: 9000 }));
    expect(service.spec.mesh?.fallback).toBe("cloud");
    expect(resolved(service, 0).port).toBeUndefined();
    expect(resolved(service, 0).env?.GUNICORN_PORT).toBe("9000");
    expect(resolved(service, 2).port).toBe("auto");
  });

  test("pos edge: only the edge workers serve; the cloud's service port refuses", () => {
    const { service } = translate(controller({ pos: "edge", port: 9000 }));
    expect(service.spec.mesh?.fallback).toBe("none");
    expect([0, 1, 2].map((i) => resolved(service, i).port)).toEqual(["auto", "auto", undefined]);
  });

  test("no serviceConfig (or all zero): no mesh port and no worker port", () => {
    for (const serviceConfig of [null, { port: 0, targetPort: 0, nodePort: 0, pos: "" }]) {
      const { service } = translate(controller(serviceConfig));
      expect(service.spec.mesh).toBeUndefined();
      expect(resolved(service, 0).port).toBeUndefined();
      expect(resolved(service, 0).env?.GUNICORN_PORT).toBe("9000");
    }
  });

  test("a container without a port variable listens on serviceConfig.port itself", () => {
    const plain = container("nginx:1", { ports: [{ containerPort: 8080 }] });
    const { service, warnings } = translate(
      jmes({
        serviceConfig: { pos: "both", port: 8080, targetPort: 80 },
        edgeWorker: [worker("edge1", [plain])],
      }),
    );
    expect(resolved(service, 0).port).toBe(8080);
    expect(resolved(service, 0).portEnv).toBeUndefined();
    expect(warningAt(warnings, "spec.serviceConfig.targetPort")).toMatch(/ignores targetPort/);
  });

  test("two fixed-port workers on one node are refused (host networking)", () => {
    const plain = container("nginx:1");
    expectIssue(
      jmes({
        serviceConfig: { pos: "edge", port: 8080 },
        edgeWorker: [worker("edge1", [plain]), worker("edge1", [plain])],
      }),
      "spec",
      /two workers on node edge1 would both listen on port 8080/,
    );
  });

  test("the port variables are configurable (annotation levee.io/port-env)", () => {
    const c = container("img:1", { env: env({ HTTP_PORT: "9000", GUNICORN_PORT: "9000" }) });
    const object = jmes(
      { serviceConfig: { pos: "both", port: 9000 }, edgeWorker: [worker("edge1", [c])] },
      { annotations: { "levee.io/port-env": "HTTP_PORT, OTHER" } },
    );
    const t = resolved(translate(object).service, 0);
    expect(t.portEnv).toEqual(["HTTP_PORT"]);
    expect(t.env?.GUNICORN_PORT).toBe("9000");
  });

  test("annotations choose the mesh protocol and fallback; bad values are refused", () => {
    const object = (annotations: Record<string, string>) =>
      jmes(
        { serviceConfig: { pos: "both", port: 9000 }, edgeWorker: [worker("edge1", [gunicorn()])] },
        { annotations },
      );
    const { service } = translate(
      object({ "levee.io/mesh-protocol": "http", "levee.io/mesh-fallback": "any" }),
    );
    expect(service.spec.mesh).toMatchObject({ protocol: "http", fallback: "any" });
    expectIssue(
      object({ "levee.io/mesh-fallback": "random" }),
      'metadata.annotations["levee.io/mesh-fallback"]',
      /expected "none", "cloud" or "any"/,
    );
    const { warnings } = translate(object({ "levee.io/colour": "red" }));
    expect(warningAt(warnings, 'metadata.annotations["levee.io/colour"]')).toMatch(
      /unknown levee annotation/,
    );
  });

  test("pos: missing is both (warned), unknown is refused; port is required", () => {
    const { warnings } = translate(controller({ port: 9000 }));
    expect(warningAt(warnings, "spec.serviceConfig.pos")).toMatch(/taken as "both"/);
    expectIssue(
      controller({ pos: "middle", port: 9000 }),
      "spec.serviceConfig.pos",
      /expected "cloud", "edge" or "both"/,
    );
    expectIssue(controller({ pos: "both", nodePort: 30001 }), "spec.serviceConfig.port", /required/);
  });
});

describe("probes", () => {
  test("readinessProbe on the container's port → an http check that follows the allocated port", () => {
    const c = gunicorn();
    c.readinessProbe = { httpGet: { path: "/health", port: 9000 }, periodSeconds: 5, failureThreshold: 4 };
    c.livenessProbe = { httpGet: { path: "/health", port: 9000 } };
    const t = resolved(
      translate(jmes({ serviceConfig: { pos: "both", port: 9000 }, edgeWorker: [worker("edge1", [c])] }))
        .service,
      0,
    );
    expect(t.health).toEqual({ http: "/health", interval: "5s", failureThreshold: 4, liveness: true });
  });

  test("tcpSocket and exec probes; a probe of another port over http is ignored with a warning", () => {
    const tcp = container("img:1", { readinessProbe: { tcpSocket: { port: 6379 } } });
    expect(resolved(translate(jmes({ edgeWorker: [worker("edge1", [tcp])] })).service, 0).health).toEqual({
      tcp: 6379,
    });
    const exec = container("img:1", { livenessProbe: { exec: { command: ["cat", "/tmp/ok"] } } });
    expect(resolved(translate(jmes({ edgeWorker: [worker("edge1", [exec])] })).service, 0).health).toEqual({
      command: ["cat", "/tmp/ok"],
      liveness: true,
    });
    const other = container("img:1", { readinessProbe: { httpGet: { path: "/", port: 7000 } } });
    const { service, warnings } = translate(jmes({ edgeWorker: [worker("edge1", [other])] }));
    expect(resolved(service, 0).health).toBeUndefined();
    expect(
      warningAt(warnings, "spec.edgeWorker[0].template.spec.containers[0].readinessProbe.httpGet.port"),
    ).toMatch(/own port only/);
  });
});
