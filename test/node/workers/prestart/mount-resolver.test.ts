import { afterAll, describe, expect, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFile, configFileRefs } from "../../../../src/manifest/config.ts";
import { templateSchema } from "../../../../src/manifest/template.ts";
import { ConfigContent } from "../../../../src/node/configs/config-content.ts";
import { ConfigContentStore } from "../../../../src/node/configs/content-store.ts";
import { WorkerSpecError } from "../../../../src/node/workers/drivers/driver.ts";
import {
  checkPathType,
  type MountContext,
  resolveMounts,
} from "../../../../src/node/workers/prestart/mount-resolver.ts";
import { PermanentError } from "../../../../src/runtime/errors.ts";
import { createLogger } from "../../../../src/runtime/log.ts";
import { openStore } from "../../../../src/store/store.ts";

const root = mkdtempSync(join(tmpdir(), "levee-mounts-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type ConfigSpecs = Record<string, { data: Record<string, string>; binaryData: Record<string, string> }>;

/** The Configs as a plan references them, their content already in this node's (real) store. */
function ctx(container: boolean, specs: ConfigSpecs = {}): MountContext {
  const workerDir = join(root, "data", "workers", "svc", String(Math.random()).slice(2));
  mkdirSync(workerDir, { recursive: true });
  const store = openStore({ dataDir: mkdtempSync(join(root, "store-")), mode: "edge" });
  const held = new ConfigContentStore(store);
  const configs: MountContext["configs"] = {};
  for (const [name, spec] of Object.entries(specs)) {
    configs[name] = configFileRefs(spec);
    for (const file of Object.keys(configs[name])) {
      const bytes = configFile(spec, file) as Uint8Array;
      held.put(configs[name][file]?.sha256 as string, bytes);
    }
  }
  const source = {
    description: "nowhere (the content is held already)",
    fetch: async () => {
      throw new PermanentError("not expected to fetch");
    },
  };
  const configFiles = new ConfigContent({
    store,
    log: createLogger({ level: "error", format: "text" }),
    source,
  });
  return { dataDir: join(root, "data"), workerDir, container, configs, configFiles, artifacts: undefined };
}

describe("resolveMounts", () => {
  test("hostPath: prefix + relative path, env is the host path for exec and the target for containers", async () => {
    mkdirSync(join(root, "videos", "cam1"), { recursive: true });
    const template = templateSchema.parse({
      command: ["x"],
      mounts: [
        {
          hostPath: { path: "videos/cam1", prefix: root, pathType: "Directory" },
          envName: "IN",
          target: "/in",
        },
      ],
    });
    const exec = await resolveMounts(template, ctx(false));
    expect(exec.env.IN).toBe(join(root, "videos", "cam1"));
    expect(exec.mounts).toEqual([{ hostPath: join(root, "videos", "cam1"), target: "/in", readOnly: false }]);
    const container = await resolveMounts(template, ctx(true));
    expect(container.env.IN).toBe("/in");
  });

  test("pathType checks and creation", () => {
    expect(() => checkPathType(join(root, "nope"), "Directory", "mounts[0].hostPath")).toThrow(
      /mounts\[0\]\.hostPath: .*nope does not exist \(pathType Directory\)/,
    );
    writeFileSync(join(root, "f.txt"), "x");
    expect(() => checkPathType(join(root, "f.txt"), "Directory", "m")).toThrow(/is not a directory/);
    expect(() => checkPathType("/dev/null", "CharDevice", "m")).not.toThrow();
    expect(() => checkPathType(join(root, "f.txt"), "CharDevice", "m")).toThrow(/is not a character device/);
    checkPathType(join(root, "made", "deep"), "DirectoryOrCreate", "m");
    expect(statSync(join(root, "made", "deep")).isDirectory()).toBe(true);
    checkPathType(join(root, "made", "file"), "FileOrCreate", "m");
    expect(statSync(join(root, "made", "file")).isFile()).toBe(true);
    expect(() => checkPathType(join(root, "no", "dir", "file"), "FileOrCreate", "m")).toThrow(
      WorkerSpecError,
    );
  });

  test("config: files written with their mode, items pick and rename, stale files removed", async () => {
    const configs = {
      app: {
        data: { "a.yaml": "x: 1\n", "b.txt": "bee" },
        binaryData: { "c.bin": Buffer.from([0, 1, 255]).toString("base64") },
      },
    };
    const c = ctx(false, configs);
    const all = templateSchema.parse({
      command: ["x"],
      mounts: [{ config: { name: "app", mode: "0600" }, envName: "CFG" }],
    });
    const out = await resolveMounts(all, c);
    const dir = out.env.CFG as string;
    expect(readdirSync(dir).sort()).toEqual(["a.yaml", "b.txt", "c.bin"]);
    expect([...readFileSync(join(dir, "c.bin"))]).toEqual([0, 1, 255]);
    expect(statSync(join(dir, "a.yaml")).mode & 0o777).toBe(0o600);
    const picked = templateSchema.parse({
      command: ["x"],
      mounts: [
        { config: { name: "app", items: [{ key: "b.txt", path: "sub/renamed.txt" }] }, envName: "CFG" },
      ],
    });
    await resolveMounts(picked, c);
    expect(readdirSync(dir)).toEqual(["sub"]);
    expect(readFileSync(join(dir, "sub", "renamed.txt"), "utf8")).toBe("bee");
    expect(out.mounts[0]?.readOnly).toBe(true);
  });

  test("config and signal errors name the mount", async () => {
    const missing = templateSchema.parse({
      command: ["x"],
      mounts: [{ config: { name: "nope" }, envName: "C" }],
    });
    await expect(resolveMounts(missing, ctx(false))).rejects.toThrow(
      'mounts[0].config: Config "nope" does not exist',
    );
    const noKey = templateSchema.parse({
      command: ["x"],
      mounts: [{ config: { name: "app", items: [{ key: "zzz", path: "z" }] }, envName: "C" }],
    });
    await expect(resolveMounts(noKey, ctx(false, { app: { data: {}, binaryData: {} } }))).rejects.toThrow(
      'has no file "zzz"',
    );
    const badSignal = templateSchema.parse({
      command: ["x"],
      mounts: [{ config: { name: "app" }, envName: "C", changeMode: "signal:BOGUS" }],
    });
    await expect(resolveMounts(badSignal, ctx(false, { app: { data: {}, binaryData: {} } }))).rejects.toThrow(
      "SIGBOGUS is not a signal name",
    );
  });

  test("shared: one directory per name under the data dir, for every worker naming it", async () => {
    const template = templateSchema.parse({
      command: ["x"],
      mounts: [{ shared: { name: "temp" }, envName: "T" }],
    });
    const a = await resolveMounts(template, ctx(false));
    const b = await resolveMounts(template, ctx(false));
    expect(a.env.T).toBe(join(root, "data", "shared", "temp"));
    expect(b.env.T).toBe(a.env.T as string);
  });
});

// An artifact's name (or a config item's path) became a path joined to the
// mount directory, so `../../../../victim.txt` replaced a file anywhere on the node, as root.
describe("names that become paths", () => {
  const sha256 = "c".repeat(64);
  const blobDir = join(root, "blobs");
  mkdirSync(blobDir, { recursive: true });
  const blob = join(blobDir, sha256);
  writeFileSync(blob, "model bytes");
  const artifacts = { ensure: async () => blob };

  test("the manifest refuses an artifact name or path that is not one file name", () => {
    for (const artifact of [
      { sha256, name: "../../../../../victim.txt" },
      { sha256, name: "models/yolo.pt" },
      { sha256, name: ".." },
      { sha256, path: "../x" },
    ]) {
      const parsed = templateSchema.safeParse({ command: ["x"], mounts: [{ artifact, envName: "M" }] });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path.slice(0, 3)).toEqual(["mounts", 0, "artifact"]);
    }
    expect(
      templateSchema.safeParse({ command: ["x"], mounts: [{ artifact: { sha256, name: "yolo.pt" } }] })
        .success,
    ).toBe(true);
  });

  test("the resolver refuses to leave the worker's directory whatever the plan says", async () => {
    const victim = join(root, "victim.txt");
    writeFileSync(victim, "precious");
    const c = { ...ctx(false), artifacts };
    // A template as it would arrive in a plan from a cloud that did not check (not parsed here).
    const template = templateSchema.parse({
      command: ["x"],
      mounts: [{ artifact: { sha256 }, envName: "M" }],
    });
    const mount = template.mounts[0] as { artifact: { name?: string } };
    mount.artifact.name = `${"../".repeat(12)}${victim.slice(1)}`;
    await expect(resolveMounts(template, c)).rejects.toThrow(
      /mounts\[0\]\.artifact: .* is not a path inside the mount directory/,
    );
    expect(readFileSync(victim, "utf8")).toBe("precious");
    mount.artifact.name = victim;
    await expect(resolveMounts(template, c)).rejects.toThrow(WorkerSpecError);
    expect(readFileSync(victim, "utf8")).toBe("precious");
  });

  test("a config item cannot follow a symlink out of the mount directory", async () => {
    const outside = join(root, "outside");
    mkdirSync(outside, { recursive: true });
    const c = ctx(false, { app: { data: { k: "v" }, binaryData: {} } });
    const template = templateSchema.parse({
      command: ["x"],
      mounts: [{ config: { name: "app", items: [{ key: "k", path: "sub/f.txt" }] }, envName: "C" }],
    });
    // The worker (which may write into its mount directory) plants a symlink where a directory goes.
    const dir = join(c.workerDir, "mounts", "0");
    mkdirSync(dir, { recursive: true });
    symlinkSync(outside, join(dir, "sub"));
    await expect(resolveMounts(template, c)).rejects.toThrow(
      /leads out of the mount directory through a symlink/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  test("a secret mount: the Secret's values as files, mode 0400, owned by the worker's user", async () => {
    const c = ctx(false, { "secret:db": { data: { password: "pw" }, binaryData: { key: "AAEC" } } });
    const root = process.getuid?.() === 0;
    if (root) c.owner = { uid: 65534, gid: 65534 };
    const template = templateSchema.parse({
      command: ["x"],
      mounts: [{ secret: { name: "db" }, envName: "S" }],
    });
    const resolved = await resolveMounts(template, c);
    const dir = resolved.env.S as string;
    expect(readFileSync(join(dir, "password"), "utf8")).toBe("pw");
    expect([...readFileSync(join(dir, "key"))]).toEqual([0, 1, 2]);
    const stat = statSync(join(dir, "password"));
    expect(stat.mode & 0o777).toBe(0o400);
    if (root) expect([stat.uid, stat.gid, statSync(dir).uid]).toEqual([65534, 65534, 65534]);
    expect(resolved.mounts[0]?.readOnly).toBe(true);

    const missing = templateSchema.parse({
      command: ["x"],
      mounts: [{ secret: { name: "nope" }, envName: "S" }],
    });
    await expect(resolveMounts(missing, c)).rejects.toThrow('mounts[0].secret: Secret "nope" does not exist');
    const noKey = templateSchema.parse({
      command: ["x"],
      mounts: [{ secret: { name: "db", items: [{ key: "gone", path: "g" }] }, envName: "S" }],
    });
    await expect(resolveMounts(noKey, c)).rejects.toThrow('mounts[0].secret: Secret "db" has no key "gone"');
  });
});
