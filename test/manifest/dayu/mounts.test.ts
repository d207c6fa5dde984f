// Sedna's mount rules (dayu-sedna controllers/jointmultiedge/mounts.go) as levee applies them:
// hostPath prefix + relative path, the target when none is given, envName, pathType, the legacy
// file paths, emptyDir, configMap/secret, containers[], devices, and the pod's own volumes.
import { describe, expect, test } from "bun:test";
import { sharedName } from "../../../src/manifest/dayu/sedna-mounts.ts";
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

const withMounts = (mounts: unknown[], containers = [container()], extra: Record<string, unknown> = {}) =>
  jmes({ edgeWorker: [worker("edge1", containers, { mounts, ...extra })] });

const mountsOf = (object: Record<string, unknown>, i = 0) => resolved(translate(object).service, i).mounts;

const hostPath = (path: string, more: Record<string, unknown> = {}) => ({
  source: { type: "hostPath", hostPath: { path, ...more } },
});

describe("hostPath", () => {
  test.each([
    [
      "an absolute source without target keeps its path",
      hostPath("/opt/models"),
      { hostPath: { path: "/opt/models" }, target: "/opt/models" },
    ],
    [
      "a relative source is joined to prefix and goes under /home/data without target",
      hostPath("processor/car-detection/", { prefix: "/data/dayu-files", pathType: "Directory" }),
      {
        hostPath: { path: "processor/car-detection", prefix: "/data/dayu-files", pathType: "Directory" },
        target: "/home/data/processor/car-detection",
      },
    ],
    [
      "target.path wins; envName and readOnly are kept",
      {
        ...hostPath("temp/", { prefix: "/data/dayu-files", pathType: "DirectoryOrCreate" }),
        target: { path: "/temp", readOnly: true },
        envName: "TEMP_PATH",
      },
      {
        hostPath: { path: "temp", prefix: "/data/dayu-files", pathType: "DirectoryOrCreate" },
        target: "/temp",
        envName: "TEMP_PATH",
        readOnly: true,
      },
    ],
    [
      "an absolute source ignores the prefix; subPath is joined to the source",
      { ...hostPath("/data/models", { prefix: "/ignored" }), target: { path: "/m", subPath: "yolo" } },
      { hostPath: { path: "/data/models/yolo" }, target: "/m" },
    ],
    [
      "the type may be left out when exactly one source is set; pathType empty means no check",
      { source: { hostPath: { path: "/x//y/./z/", pathType: "" } } },
      { hostPath: { path: "/x/y/z" }, target: "/x/y/z" },
    ],
  ])("%s", (_name, mount, expected) => {
    expect(mountsOf(withMounts([mount]))).toEqual([expected]);
  });

  test.each([
    [
      "a relative path without prefix",
      hostPath("models"),
      "spec.edgeWorker[0].mounts[0].source.hostPath.path",
      /needs a prefix/,
    ],
    [
      "a path that leaves its prefix",
      hostPath("../etc", { prefix: "/data" }),
      "spec.edgeWorker[0].mounts[0].source.hostPath.path",
      /'\.\.'/,
    ],
    [
      "a relative target",
      { ...hostPath("/a"), target: { path: "rel" } },
      "spec.edgeWorker[0].mounts[0].target.path",
      /absolute/,
    ],
    ["no source at all", { source: {} }, "spec.edgeWorker[0].mounts[0].source", /set the source/],
    [
      "a persistentVolumeClaim",
      { source: { persistentVolumeClaim: { claimName: "data" } } },
      "spec.edgeWorker[0].mounts[0].source.persistentVolumeClaim",
      /levee has no volumes/,
    ],
    [
      "an unknown pathType",
      hostPath("/a", { pathType: "Folder" }),
      "spec.edgeWorker[0].mounts[0].source.hostPath.pathType",
      /expected one of/,
    ],
  ])("refused: %s", (_name, mount, path, message) => {
    expectIssue(withMounts([mount]), path, message);
  });

  test("mountPropagation and a second source are warned about", () => {
    const mount = {
      source: { type: "hostPath", hostPath: { path: "/a" }, emptyDir: {} },
      target: { path: "/a", mountPropagation: "HostToContainer" },
    };
    const { warnings } = translate(withMounts([mount]));
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[0].target.mountPropagation")).toMatch(
      /not supported/,
    );
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[0].source.emptyDir")).toMatch(
      /source type is hostPath/,
    );
  });
});

describe("the legacy file paths", () => {
  test("each distinct directory at /home/data/volume<i>, VOLUME_NUM and VOLUME_<i> the host directory", () => {
    const object = withMounts([], [container()], {
      file: {
        path: "/models/a/model.bin",
        paths: ["/models/a/other.bin", "/models/b/x.cfg", "/models/a/model.bin"],
      },
    });
    const t = resolved(translate(object).service, 0);
    expect(t.env).toMatchObject({ VOLUME_NUM: "2", VOLUME_0: "/models/a", VOLUME_1: "/models/b" });
    expect(t.mounts).toEqual([
      { hostPath: { path: "/models/a" }, target: "/home/data/volume0" },
      { hostPath: { path: "/models/b" }, target: "/home/data/volume1" },
    ]);
  });

  test("no file: VOLUME_NUM is 0 (Sedna sets it for every worker); a relative path is refused", () => {
    expect(resolved(translate(withMounts([])).service, 0).env?.VOLUME_NUM).toBe("0");
    expectIssue(
      withMounts([], [container()], { file: { paths: ["model.bin"] } }),
      "spec.edgeWorker[0].file",
      /absolute/,
    );
  });
});

describe("emptyDir, configMap, secret", () => {
  test("emptyDir: a directory shared by the pod's containers, not by other pods", () => {
    const mount = { name: "scratch", source: { emptyDir: { medium: "Memory" } } };
    const a = container("img:1", { name: "a" });
    const b = container("img:1", { name: "b" });
    const object = jmes({
      edgeWorker: [worker("edge1", [a, b], { mounts: [mount] }), worker("edge1", [a], { mounts: [mount] })],
    });
    const { service, warnings } = translate(object);
    const [first, second, other] = [0, 1, 2].map((i) => resolved(service, i).mounts?.[0]);
    expect(first).toEqual({ shared: { name: "controller-edge0-scratch" }, target: "/home/data/scratch" });
    expect(second).toEqual(first);
    expect(other?.shared?.name).toBe("controller-edge1-scratch");
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[0].source.emptyDir.medium")).toMatch(/on disk/);
  });

  test("a shared directory name too long for a DNS label is shortened with a hash, stably", () => {
    const long = sharedName(
      { service: "processor-license-plate-recognition-edgexn11", pod: "edge0" },
      "temporary-directory",
    );
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9-]+$/);
    expect(
      sharedName(
        { service: "processor-license-plate-recognition-edgexn11", pod: "edge0" },
        "temporary-directory",
      ),
    ).toBe(long);
    expect(
      sharedName(
        { service: "processor-license-plate-recognition-edgexn11", pod: "edge1" },
        "temporary-directory",
      ),
    ).not.toBe(long);
  });

  test("configMap reads the levee Config of that name, secret the levee Secret, read-only under /home/data/<name>", () => {
    const object = withMounts([
      { source: { configMap: { name: "app-config" } }, envName: "APP" },
      { source: { secret: { secretName: "keys", optional: true } }, target: { path: "/etc/keys" } },
    ]);
    const { service, warnings } = translate(object);
    expect(resolved(service, 0).mounts).toEqual([
      { config: { name: "app-config" }, target: "/home/data/app-config", readOnly: true, envName: "APP" },
      { secret: { name: "keys", mode: "0644" }, target: "/etc/keys", readOnly: true },
    ]);
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[0].source.configMap")).toMatch(
      /levee Config app-config, which does not exist/,
    );
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[1].source.secret.optional")).toMatch(
      /waits until the Secret exists/,
    );
    expect(warningAt(warnings, "spec.edgeWorker[0].mounts[1].source.secret")).toMatch(
      /levee Secret keys, which does not exist: apply one \(kind: Secret\)/,
    );
    // With the Config known (stored, or in the same manifests), no warning about it.
    const known = translate(
      object,
      context({
        configExists: (name, kind) => (kind === "Secret" ? name === "keys" : name === "app-config"),
      }),
    );
    expect(known.warnings.some((w) => w.path === "spec.edgeWorker[0].mounts[0].source.configMap")).toBe(
      false,
    );
    expect(known.warnings.some((w) => w.path === "spec.edgeWorker[0].mounts[1].source.secret")).toBe(false);
  });
});

describe("containers[], devices, conflicts", () => {
  test("containers[] limits a mount to the named containers; an unknown name is refused", () => {
    const a = container("img:1", { name: "detector" });
    const b = container("img:1", { name: "uploader" });
    const object = withMounts([{ ...hostPath("/models"), containers: ["detector"] }], [a, b]);
    const { service } = translate(object);
    expect(resolved(service, 0).mounts).toHaveLength(1);
    expect(resolved(service, 1).mounts).toBeUndefined();
    expectIssue(
      withMounts([{ ...hostPath("/models"), containers: ["nope"] }], [a]),
      "spec.edgeWorker[0].mounts[0].containers",
      /no container named "nope"/,
    );
  });

  test("a character device is a device of a container worker, its envName the target", () => {
    const camera = {
      ...hostPath("/dev/video0", { pathType: "CharDevice" }),
      target: { path: "/dev/video0" },
      envName: "CAMERA_DEVICE",
    };
    const t = resolved(translate(withMounts([camera])).service, 0);
    expect(t.devices).toEqual(["/dev/video0:/dev/video0"]);
    expect(t.mounts).toBeUndefined();
    expect(t.env?.CAMERA_DEVICE).toBe("/dev/video0");
  });

  test("the same target from two sources, or an envName the env already has, is refused", () => {
    expectIssue(
      withMounts([
        { ...hostPath("/a"), target: { path: "/m" } },
        { ...hostPath("/b"), target: { path: "/m" } },
      ]),
      "spec.edgeWorker[0].mounts[1]",
      /already mounted from another source/,
    );
    const c = container("img:1", { env: env({ TEMP_PATH: "/tmp" }) });
    expectIssue(
      withMounts([{ ...hostPath("/t"), envName: "TEMP_PATH" }], [c]),
      "spec.edgeWorker[0].mounts[0]",
      /both in the env and a mount's envName/,
    );
  });

  test("the same mount twice is mounted once", () => {
    expect(mountsOf(withMounts([hostPath("/a"), hostPath("/a")]))).toHaveLength(1);
  });
});

describe("the pod's own volumes", () => {
  test("hostPath and emptyDir volumes mounted by volumeMounts", () => {
    const c = container("img:1", {
      volumeMounts: [
        { name: "models", mountPath: "/models", readOnly: true },
        { name: "cache", mountPath: "/cache" },
      ],
    });
    const pod = worker(
      "edge1",
      [c],
      {},
      {
        volumes: [
          { name: "models", hostPath: { path: "/data/models", type: "Directory" } },
          { name: "cache", emptyDir: {} },
        ],
      },
    );
    expect(resolved(translate(jmes({ edgeWorker: [pod] })).service, 0).mounts).toEqual([
      { hostPath: { path: "/data/models", pathType: "Directory" }, target: "/models", readOnly: true },
      { shared: { name: "controller-edge0-cache" }, target: "/cache" },
    ]);
  });

  test("an unknown volume or an unsupported volume type is refused", () => {
    const c = container("img:1", { volumeMounts: [{ name: "nfs", mountPath: "/n" }] });
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [c])] }),
      "spec.edgeWorker[0].template.spec.containers[0].volumeMounts[0].name",
      /no volume named/,
    );
    const pod = worker("edge1", [c], {}, { volumes: [{ name: "nfs", nfs: { server: "x", path: "/" } }] });
    expectIssue(
      jmes({ edgeWorker: [pod] }),
      "spec.edgeWorker[0].template.spec.volumes[0]",
      /nfs is not supported/,
    );
  });
});
