// Worker templates inside a Service: health checks, mounts and driver-specific fields.
import { describe, expect, test } from "bun:test";
import { mountSource } from "../../src/manifest/mounts.ts";
import type { ServiceResource } from "../../src/manifest/service.ts";
import { expectOneIssue, issuesOf, objectsOf, serviceYaml } from "./helpers.ts";

function service(body: string): ServiceResource {
  const [object] = objectsOf(body);
  if (object?.kind !== "Service") throw new Error("expected a Service");
  return object;
}

describe("template", () => {
  test("health: exactly one check, and http/tcp need the worker's port", () => {
    const withHealth = (health: string, port = "") =>
      serviceYaml(`template: { command: [a], health: ${health} ${port} }\nworkers: [{ node: edge1 }]`);
    expectOneIssue(withHealth("{ interval: 5s }"), "spec.template.health", /set one of http, tcp or command/);
    expectOneIssue(
      withHealth("{ http: /h, tcp: true }", ", port: 80"),
      "spec.template.health",
      /not http and tcp/,
    );
    expectOneIssue(withHealth("{ http: /health }"), "spec.template.health.http", /needs port/);
    expectOneIssue(withHealth("{ tcp: false }", ", port: 80"), "spec.template.health.tcp", /expected true/);
    service(withHealth("{ tcp: 6379 }"));
    service(withHealth("{ command: [redis-cli, ping], liveness: true }"));
  });

  test("mounts: one source each, and what each driver needs", () => {
    const issues = issuesOf(
      serviceYaml(`
        template:
          driver: container
          image: busybox
          mounts:
            - { hostPath: { path: /data, pathType: Directory }, target: /data }
            - { config: { name: app-config, mode: 0644 }, target: /etc/app }
            - { artifact: { sha256: "${"a".repeat(64)}" }, shared: { name: tmp }, target: /m }
        workers: [{ node: edge1 }]
      `),
    );
    expect(issues.map((i) => i.path)).toEqual([
      "spec.template.mounts[1].config.mode",
      "spec.template.mounts[2]",
    ]);
    expect(issues[0]?.message).toMatch(/quoted octal string, e.g. "0644".*decimal number 644/);
    expectOneIssue(
      serviceYaml(`
        template: { driver: container, image: busybox, mounts: [{ shared: { name: tmp } }] }
        workers: [{ node: edge1 }]
      `),
      "spec.template.mounts[0].target",
      /required for driver container/,
    );
    const ok = service(
      serviceYaml(`
        template:
          command: [a]
          mounts:
            - { hostPath: { path: models, prefix: /var/lib/data }, envName: MODELS }
            - { artifact: { sha256: "${"b".repeat(64)}", name: yolo.onnx }, envName: MODEL, changeMode: "signal:HUP" }
        workers: [{ node: edge1 }]
      `),
    );
    expect(ok.spec.template.mounts).toHaveLength(2);
  });

  test("container-only fields on an exec worker", () => {
    expectOneIssue(
      serviceYaml(`
        template: { command: [a], privileged: true }
        workers: [{ node: edge1 }]
      `),
      "spec.template.privileged",
      /for driver container only/,
    );
  });

  test("mount sources, unique targets, relative host paths", () => {
    const ok = service(
      serviceYaml(`
        template:
          driver: container
          image: busybox
          privileged: true
          devices: [/dev/video0, "/dev/ttyUSB0:/dev/ttyS0:rw"]
          mounts:
            - { hostPath: { path: /srv/data, pathType: DirectoryOrCreate }, target: /data, readOnly: true }
            - { config: { name: app-config, items: [{ key: app.yaml, path: conf/app.yaml }] }, target: /etc/app }
            - { shared: { name: temp }, target: /temp, envName: TEMP_DIR }
        workers: [{ node: edge1 }]
      `),
    );
    expect(ok.spec.template.mounts.map((m) => mountSource(m).kind)).toEqual(["hostPath", "config", "shared"]);
    expect(ok.spec.template.mounts[1]?.config?.mode).toBe("0644");
    const issues = issuesOf(
      serviceYaml(`
        template:
          command: [a]
          mounts:
            - { shared: { name: temp }, envName: TEMP }
            - { shared: { name: other }, envName: TEMP }
            - { hostPath: { path: ../etc, prefix: /data }, envName: ETC }
        workers: [{ node: edge1 }]
      `),
    );
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ["spec.template.mounts[2].hostPath.path", "must not contain '..'"],
      ["spec.template.mounts[1].envName", 'envName "TEMP" is already used by mounts[0]'],
    ]);
  });

  test("kubeApi: absent is no API access; {} is the default service account; a name is a DNS label", () => {
    const kube = (value: string, override = "") =>
      serviceYaml(`template: { command: [a]${value} }\nworkers: [{ node: edge1${override} }]`);
    expect(service(kube("")).spec.template.kubeApi).toBeUndefined();
    expect(service(kube(", kubeApi: {}")).spec.template.kubeApi).toEqual({ serviceAccount: "default" });
    expect(service(kube(", kubeApi: { serviceAccount: worker-admin }")).spec.template.kubeApi).toEqual({
      serviceAccount: "worker-admin",
    });
    const worker = service(kube("", ", template: { kubeApi: { serviceAccount: reader } }")).spec.workers[0];
    expect(worker?.template?.kubeApi).toEqual({ serviceAccount: "reader" });
    expectOneIssue(
      kube(", kubeApi: { serviceAccount: Worker_Admin }"),
      "spec.template.kubeApi.serviceAccount",
      /DNS label/,
    );
    expectOneIssue(kube(", kubeApi: { token: x }"), "spec.template.kubeApi.token", /unknown field/i);
    expectOneIssue(kube(", kubeApi: true"), "spec.template.kubeApi", /object/);
  });
});
