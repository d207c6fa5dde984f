// RuntimeService → native Service: one worker on targetNode, no injected env, identity labels, the
// endpoint as an allocated node-targeted port that every node forwards (fallback any), and Sedna's
// validation rules.
import { describe, expect, test } from "bun:test";
import {
  container,
  context,
  env,
  expectIssue,
  resolved,
  runtimeService,
  translate,
  warningAt,
} from "./helpers.ts";

const served = () =>
  container("repo/processor:1", { env: env({ GUNICORN_PORT: "9000" }), ports: [{ containerPort: 9000 }] });

describe("RuntimeService", () => {
  test("one worker on targetNode; identity labels; the endpoint is an allocated port with fallback any", () => {
    const object = runtimeService({
      logicalService: "car-detection",
      podTemplate: { spec: { containers: [served()] } },
      endpoint: { port: 9000 },
    });
    const asked: (number | undefined)[] = [];
    const ctx = context({
      meshPort: (_service, requested) => {
        asked.push(requested);
        return 30555;
      },
    });
    const { service, warnings } = translate(object, ctx);
    expect(asked).toEqual([undefined]);
    expect(service.metadata).toEqual({
      name: "processor-edge1-r1",
      labels: {
        "dayu.io/install-id": "dayu",
        "dayu.io/deployment-revision": "1",
        "dayu.io/component": "processor",
        "dayu.io/runtime-id": "processor-edge1-r1",
        "dayu.io/logical-service": "car-detection",
      },
    });
    expect(service.spec.workers).toEqual([{ node: "edge1" }]);
    expect(service.spec.mesh).toEqual({ port: 30555, protocol: "tcp", fallback: "any" });
    const t = resolved(service, 0);
    expect(t).toMatchObject({ driver: "container", port: "auto", portEnv: ["GUNICORN_PORT"] });
    // No Sedna env: the pod template is fully rendered.
    expect(service.spec.template.env).toBeUndefined();
    expect(warningAt(warnings, "spec.endpoint.port")).toMatch(/no cluster IPs.*:30555/);
  });

  test("no endpoint: no mesh port (a generator accepts no traffic)", () => {
    const { service } = translate(
      runtimeService({ podTemplate: { spec: { containers: [container("gen:1")] } } }),
    );
    expect(service.spec.mesh).toBeUndefined();
    expect(resolved(service, 0).port).toBeUndefined();
  });

  test.each([
    [
      "an endpoint port no container declares",
      { podTemplate: { spec: { containers: [container("p:1")] } }, endpoint: { port: 9000 } },
      "spec.endpoint.port",
      /not declared as a TCP container port/,
    ],
    [
      "a pod nodeName other than targetNode",
      { podTemplate: { spec: { nodeName: "edge2", containers: [container("p:1")] } } },
      "spec.podTemplate.spec.nodeName",
      /conflicts with targetNode/,
    ],
    [
      "a restartPolicy other than Always",
      { podTemplate: { spec: { restartPolicy: "Never", containers: [container("p:1")] } } },
      "spec.podTemplate.spec.restartPolicy",
      /"Always"/,
    ],
    [
      "a revision below 1",
      { deploymentRevision: 0, podTemplate: { spec: { containers: [container("p:1")] } } },
      "spec.deploymentRevision",
      /at least 1/,
    ],
    [
      "no installID",
      { installID: "", podTemplate: { spec: { containers: [container("p:1")] } } },
      "spec.installID",
      /empty|at least/,
    ],
  ])("refused: %s", (_name, spec, path, message) => {
    expectIssue(runtimeService(spec), path, message);
  });
});
