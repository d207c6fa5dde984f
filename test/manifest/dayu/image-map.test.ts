// ImageMap: the kind (a native, strict resource), which rule an image gets, and what a mapped
// container becomes (an exec worker with Kubernetes' command/args meaning).
import { describe, expect, test } from "bun:test";
import { matchImage, mergeImageMaps, type SourcedRule } from "../../../src/manifest/dayu/image-map.ts";
import { parseManifests } from "../../../src/manifest/manifest.ts";
import { container, context, env, jmes, resolved, translate, warningAt, worker } from "./helpers.ts";

const imageMap = (images: unknown[], name = "dev") => ({
  apiVersion: "levee/v1",
  kind: "ImageMap",
  metadata: { name },
  spec: { images },
});

const rule = (r: Partial<SourcedRule>): SourcedRule => ({ command: ["run"], from: "dev", ...r });

describe("the ImageMap kind", () => {
  test("a valid map parses; each rule names an image or a prefix, not both, and a command", () => {
    const ok = parseManifests(
      JSON.stringify(
        imageMap([
          { image: "repo/controller:1", command: ["python3", "c.py"], env: { A: "b" }, workingDir: "/opt/c" },
          { imagePrefix: "repo/processor:", command: ["python3", "p.py"], args: ["--x"] },
        ]),
      ),
    );
    expect(ok.ok).toBe(true);
    const bad = parseManifests(
      JSON.stringify(
        imageMap([
          { image: "a", imagePrefix: "b", command: ["x"] },
          { image: "c" },
          { image: "d", command: ["x"], colour: "red" },
        ]),
      ),
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues.map((i) => i.path)).toEqual([
      "spec.images[0]",
      "spec.images[1].command",
      "spec.images[2].colour",
    ]);
    const twice = parseManifests(
      JSON.stringify(
        imageMap([
          { imagePrefix: "e", command: ["x"] },
          { imagePrefix: "e", command: ["y"] },
        ]),
      ),
    );
    expect(twice.ok ? [] : twice.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "spec.images[1]: image prefix e is already mapped by images[0]",
    ]);
  });

  test("an exact rule beats a prefix; the longest prefix wins; no rule: undefined", () => {
    const rules = [
      rule({ imagePrefix: "repo/", command: ["short"] }),
      rule({ imagePrefix: "repo/processor:", command: ["long"] }),
      rule({ image: "repo/processor:v2", command: ["exact"] }),
    ];
    expect(matchImage(rules, "repo/processor:v2")?.command).toEqual(["exact"]);
    expect(matchImage(rules, "repo/processor:v1")?.command).toEqual(["long"]);
    expect(matchImage(rules, "repo/controller:v1")?.command).toEqual(["short"]);
    expect(matchImage(rules, "other/thing")).toBeUndefined();
  });

  test("two ImageMaps mapping the same image or prefix are refused; different ones merge", () => {
    const a = { name: "a", spec: { images: [{ image: "x:1", command: ["a"] }] } };
    const b = { name: "b", spec: { images: [{ image: "x:1", command: ["b"] }] } };
    const c = { name: "c", spec: { images: [{ imagePrefix: "x:", command: ["c"] }] } };
    const conflict = mergeImageMaps([a, b]);
    expect(conflict).toMatchObject({ ok: false, map: "b" });
    if (!conflict.ok) expect(conflict.message).toMatch(/image x:1 is mapped by ImageMap a and ImageMap b/);
    const merged = mergeImageMaps([c, a]);
    expect(merged.ok && merged.rules.map((r) => r.from)).toEqual(["a", "c"]);
  });
});

describe("a mapped container runs as a process", () => {
  const rules = [
    rule({
      image: "repo/controller:1",
      command: ["python3", "controller.py"],
      args: ["--serve"],
      workingDir: "/opt/dayu",
      env: { PYTHONPATH: "/opt/dayu/lib", MODE: "dev" },
    }),
  ];

  test("the rule's command and args; the rule's env under the container's; the working directory", () => {
    const c = container("repo/controller:1", { env: env({ MODE: "prod", GUNICORN_PORT: "9000" }) });
    const object = jmes({ serviceConfig: { pos: "both", port: 9000 }, edgeWorker: [worker("edge1", [c])] });
    const t = resolved(translate(object, context({ rules })).service, 0);
    expect(t).toMatchObject({
      driver: "exec",
      command: ["python3", "controller.py"],
      args: ["--serve"],
      workingDir: "/opt/dayu",
      port: "auto",
      portEnv: ["GUNICORN_PORT"],
    });
    expect(t.image).toBeUndefined();
    expect(t.env).toMatchObject({ PYTHONPATH: "/opt/dayu/lib", MODE: "prod", NAMESPACE: "dayu" });
  });

  test.each([
    ["args replace the rule's args", { args: ["--once"] }, ["python3", "controller.py"], ["--once"]],
    [
      "command replaces the rule's command and args",
      { command: ["python3", "other.py"] },
      ["python3", "other.py"],
      undefined,
    ],
    ["command and args", { command: ["sh"], args: ["-c", "true"] }, ["sh"], ["-c", "true"]],
  ])("Kubernetes' meaning: %s", (_name, extra, command, args) => {
    const c = container("repo/controller:1", extra);
    const t = resolved(
      translate(jmes({ edgeWorker: [worker("edge1", [c])] }), context({ rules })).service,
      0,
    );
    expect(t.command).toEqual(command);
    expect(t.args).toEqual(args);
  });

  test("what a process cannot honour is dropped with a warning; a device stays a mount", () => {
    const c = container("repo/controller:1", {
      workingDir: "/app",
      securityContext: { privileged: true, runAsUser: 1000 },
    });
    const camera = {
      source: { hostPath: { path: "/dev/video0", pathType: "CharDevice" } },
      envName: "CAMERA",
    };
    const plain = { source: { hostPath: { path: "/models" } } };
    const object = jmes({ edgeWorker: [worker("edge1", [c], { mounts: [camera, plain] })] });
    const { service, warnings } = translate(object, context({ rules }));
    const t = resolved(service, 0);
    expect(t.privileged).toBeUndefined();
    expect(t.user).toBeUndefined();
    expect(t.devices).toBeUndefined();
    expect(t.mounts?.[0]).toMatchObject({
      hostPath: { path: "/dev/video0", pathType: "CharDevice" },
      envName: "CAMERA",
    });
    const at = "spec.edgeWorker[0].template.spec.containers[0]";
    expect(warningAt(warnings, `${at}.workingDir`)).toMatch(/ImageMap dev/);
    expect(warningAt(warnings, `${at}.securityContext.privileged`)).toMatch(/not applicable/);
    expect(warningAt(warnings, `${at}.securityContext`)).toMatch(/runAsUser/);
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[1]")).toMatch(/finds a mount through envName/);
  });

  test("an image no rule names stays a container", () => {
    const c = container("repo/other:1");
    const t = resolved(
      translate(jmes({ edgeWorker: [worker("edge1", [c])] }), context({ rules })).service,
      0,
    );
    expect(t).toMatchObject({ driver: "container", image: "repo/other:1" });
  });
});
