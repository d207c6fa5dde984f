// Service manifests: one test per kind of mistake, each with its exact path and message, and the
// resolution of a worker's template.
import { describe, expect, test } from "bun:test";
import { resolveWorkerTemplate, type ServiceResource } from "../../src/manifest/service.ts";
import { expectOneIssue, ISSUE_EXAMPLE, objectsOf, serviceYaml } from "./helpers.ts";

function service(body: string): ServiceResource {
  const [object] = objectsOf(body);
  if (object?.kind !== "Service") throw new Error("expected a Service");
  return object;
}

const EXEC = "template:\n  command: [node, server.js]\nworkers:\n  - node: edge1";

describe("Service mistakes", () => {
  test("an unknown field is an error that names it (a typo is not dropped)", () => {
    expectOneIssue(
      serviceYaml(`
        template: { command: [node] }
        workers:
          - node: edge1
            replica: 2
      `),
      "spec.workers[0].replica",
      /^unknown field "replica" \(did you mean "replicas"\?\)$/,
    );
    expectOneIssue(
      serviceYaml(`${EXEC}\nmesh: { port: 80, protocl: tcp }`),
      "spec.mesh.protocl",
      /did you mean "protocol"/,
    );
    expectOneIssue(serviceYaml(`${EXEC}\nworkerz: []`), "spec.workerz", /did you mean "workers"/);
  });

  test("exec needs a command", () => {
    expectOneIssue(
      serviceYaml(`
        template: { driver: exec, env: { A: b } }
        workers: [{ node: edge1 }, { node: edge2 }]
      `),
      "spec.template.command",
      /^required for driver exec: the program to run/,
    );
  });

  test("container needs an image", () => {
    expectOneIssue(
      serviceYaml(`
        template: { driver: container }
        workers: [{ node: edge1 }]
      `),
      "spec.template.image",
      /^required for driver container/,
    );
  });

  test("a driver problem caused by a worker's override is reported in that override", () => {
    expectOneIssue(
      serviceYaml(`
        template: { command: [node, server.js] }
        workers:
          - node: edge1
          - node: edge2
            template: { driver: container }
      `),
      "spec.workers[1].template.image",
      /required for driver container/,
    );
    // ...and an override may supply what the shared template lacks.
    service(
      serviceYaml(`
        template: { driver: container }
        workers: [{ node: edge1, template: { image: "busybox:1.36" } }]
      `),
    );
  });

  test("node and nodeSelector: exactly one", () => {
    expectOneIssue(
      serviceYaml(`
        template: { command: [a] }
        workers:
          - node: edge1
          - node: edge2
            nodeSelector: { role: camera }
      `),
      "spec.workers[1]",
      /^set either node or nodeSelector, not both$/,
    );
    expectOneIssue(
      serviceYaml(`
        template: { command: [a] }
        workers: [{ replicas: 2 }]
      `),
      "spec.workers[0]",
      /^set node \(a node name\) or nodeSelector \(labels\)$/,
    );
    expectOneIssue(
      serviceYaml("template: { command: [a] }\nworkers: []"),
      "spec.workers",
      /at least one entry/,
    );
  });

  test("a bad name", () => {
    const issue = expectOneIssue(serviceYaml(EXEC, "Echo_Server"), "metadata.name", /must be a DNS label/);
    expect(issue).toMatchObject({ document: 0, kind: "Service", name: "Echo_Server" });
    expectOneIssue(serviceYaml(EXEC, "a".repeat(64)), "metadata.name", /at most 63 characters/);
    expectOneIssue(
      serviceYaml(`
        template: { command: [a] }
        workers: [{ node: Edge-1 }]
      `),
      "spec.workers[0].node",
      /must be a DNS subdomain.*"Edge-1"/,
    );
  });

  test("node fields take node names (DNS subdomains); an upstream's service may be qualified", () => {
    const [object] = objectsOf(
      serviceYaml(`
        template: { command: [a] }
        workers: [{ node: edge.site-a }]
        mesh:
          port: 19100
          upstreams: [{ service: redis.team-b, node: cloud.kubeedge, localPort: 16379 }]
      `),
    );
    if (object?.kind !== "Service") throw new Error("expected a Service");
    expect(object.spec.workers[0]?.node).toBe("edge.site-a");
    expect(object.spec.mesh?.upstreams?.[0]).toEqual({
      service: "redis.team-b",
      node: "cloud.kubeedge",
      localPort: 16379,
    });
    expectOneIssue(
      serviceYaml(`
        template: { command: [a] }
        workers: [{ node: edge. }]
      `),
      "spec.workers[0].node",
      /must be a DNS subdomain/,
    );
    // The Service's own name stays a DNS label.
    expectOneIssue(
      serviceYaml("template: { command: [a] }\nworkers: [{ node: e }]", "echo.v2"),
      "metadata.name",
      /must be a DNS label/,
    );
  });

  test("an env value that is not a string must be quoted", () => {
    expectOneIssue(
      serviceYaml(`
        template: { command: [a], env: { PORT: 80 } }
        workers: [{ node: edge1 }]
      `),
      "spec.template.env.PORT",
      /^expected a string, got the number 80: quote it, e.g. "80"$/,
    );
    expectOneIssue(
      serviceYaml(`
        template: { command: [a] }
        workers: [{ node: edge1, template: { env: { DEBUG: true } } }]
      `),
      "spec.workers[0].template.env.DEBUG",
      /got the boolean true: quote it/,
    );
  });

  test("env values pass byte-exact", () => {
    const json = '{"a": [1, "x"]}';
    const python = "{'k': None, \"q\": 'it''s'}\nline two\t";
    const body = JSON.stringify({
      apiVersion: "levee/v1",
      kind: "Service",
      metadata: { name: "echo" },
      spec: {
        template: { command: ["a"], env: { JSON: json, PY: python, EMPTY: "" } },
        workers: [{ node: "edge1" }],
      },
    });
    expect(service(body).spec.template.env).toEqual({ JSON: json, PY: python, EMPTY: "" });
  });

  test("a bad port", () => {
    const bad = (port: string) =>
      serviceYaml(`template: { command: [a], port: ${port} }\nworkers: [{ node: edge1 }]`);
    expectOneIssue(bad("70000"), "spec.template.port", /between 1 and 65535/);
    expectOneIssue(bad("0"), "spec.template.port", /between 1 and 65535/);
    expectOneIssue(
      bad("automatic"),
      "spec.template.port",
      /^expected a port number \(1-65535\) or "auto", got "automatic"$/,
    );
    expectOneIssue(bad("80.5"), "spec.template.port", /port number/);
    expectOneIssue(serviceYaml(`${EXEC}\nmesh: { port: -1 }`), "spec.mesh.port", /between 1 and 65535/);
  });

  test("a bad duration", () => {
    expectOneIssue(
      serviceYaml(`
        template: { command: [a], port: 80, health: { http: /health, interval: 10 } }
        workers: [{ node: edge1 }]
      `),
      "spec.template.health.interval",
      /^expected a duration string, e.g. "500ms", "10s".*; got the number 10$/,
    );
    expectOneIssue(
      serviceYaml(`${EXEC}\nlostAfter: 5 minutes`),
      "spec.lostAfter",
      /^expected a duration or "never", e.g. .*; got "5 minutes"$/,
    );
    expectOneIssue(
      serviceYaml(`
        template: { command: [a], restart: { backoff: { initial: 10x } } }
        workers: [{ node: edge1 }]
      `),
      "spec.template.restart.backoff.initial",
      /unknown unit "x" in "10x"/,
    );
  });

  test("a bad mesh enum", () => {
    expectOneIssue(
      serviceYaml(`${EXEC}\nmesh: { port: 19100, balance: random }`),
      "spec.mesh.balance",
      /^expected one of "round-robin", "least-request", "p2c-ewma"; got "random"$/,
    );
    expectOneIssue(
      serviceYaml(`${EXEC}\nmesh: { port: 19100, protocol: udp }`),
      "spec.mesh.protocol",
      /"tcp", "http"/,
    );
    expectOneIssue(
      serviceYaml(`${EXEC}\nmesh: { port: 19100, fallback: random }`),
      "spec.mesh.fallback",
      /"none", "cloud", "any"/,
    );
  });
});

describe("resolveWorkerTemplate", () => {
  test("env is merged; other override fields replace", () => {
    const spec = service(
      serviceYaml(`
        template:
          command: [node, server.js]
          args: [--verbose]
          env: { GREETING: hello, MODE: slow }
          port: auto
        workers:
          - node: edge1
          - node: edge2
            template: { env: { MODE: fast, EXTRA: "1" }, args: [], port: 8080 }
      `),
    ).spec;
    const [first, second] = spec.workers;
    if (!first || !second) throw new Error("two workers expected");
    expect(resolveWorkerTemplate(spec, first)).toEqual(spec.template);
    const resolved = resolveWorkerTemplate(spec, second);
    expect(resolved.env).toEqual({ GREETING: "hello", MODE: "fast", EXTRA: "1" });
    expect(resolved.args).toEqual([]);
    expect(resolved.port).toBe(8080);
    expect(resolved.command).toEqual(["node", "server.js"]);
    expect(spec.template.env).toEqual({ GREETING: "hello", MODE: "slow" }); // not modified
  });

  test("the issue's example: the camera workers get MODE", () => {
    const spec = service(ISSUE_EXAMPLE).spec;
    const camera = spec.workers[1];
    if (!camera) throw new Error("two workers expected");
    expect(resolveWorkerTemplate(spec, camera).env).toEqual({ GREETING: "hello", MODE: "fast" });
  });
});
