// Resource limits of exec workers with a temporary directory as the cgroup root: what is checked
// before limits are used, the files an instance's cgroup gets, the OOMKilled reason read from
// memory.events at the exit, and the exec driver's wrapper writing the worker's own pid to
// cgroup.procs before its program runs. (The kernel's enforcement is the e2e test's part.)
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { templateSchema } from "../../../../src/manifest/template.ts";
import {
  Cgroups,
  limitFiles,
  oomKillCount,
  SLICE,
  wrap,
} from "../../../../src/node/workers/drivers/cgroup.ts";
import type { LaunchSpec } from "../../../../src/node/workers/drivers/driver.ts";
import { ExecDriver, instancePrefix } from "../../../../src/node/workers/drivers/exec-driver.ts";

const scratch = mkdtempSync(join(tmpdir(), "levee-cgroup-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** A fake cgroup v2 root: cgroup.controllers with these controllers. */
function fakeRoot(controllers: string | undefined): string {
  const root = join(scratch, `root${n++}`);
  mkdirSync(root, { recursive: true });
  if (controllers !== undefined) writeFileSync(join(root, "cgroup.controllers"), `${controllers}\n`);
  return root;
}

const key = {
  node: "edge-1",
  service: "camera",
  index: 2,
  instance: "0123456789ab-5f0c6e1a-aaaa-bbbb-cccc-d00d00d00d00",
};

describe("Cgroups", () => {
  test("without cgroup v2, or without its memory and cpu controllers, says why", () => {
    expect(new Cgroups(fakeRoot(undefined)).availability()).toEqual({
      ok: false,
      problem: expect.stringContaining("is not a cgroup v2 hierarchy"),
    });
    const noMemory = new Cgroups(fakeRoot("cpuset cpu io pids")).availability();
    expect(noMemory).toEqual({
      ok: false,
      problem: expect.stringContaining("does not offer the memory controller"),
    });
    const none = new Cgroups(fakeRoot("hugetlb")).availability();
    expect(none).toEqual({ ok: false, problem: expect.stringContaining("the memory and cpu controllers") });
  });

  test("available: the controllers are enabled for the levee slice", () => {
    const root = fakeRoot("cpuset cpu io memory pids");
    expect(new Cgroups(root).availability()).toEqual({ ok: true });
    expect(readFileSync(join(root, "cgroup.subtree_control"), "utf8")).toBe("+memory +cpu");
    expect(readFileSync(join(root, SLICE, "cgroup.subtree_control"), "utf8")).toBe("+memory +cpu");
  });

  test("an instance's cgroup: named by node, service, index and instance, with its limits", () => {
    const root = fakeRoot("cpu memory");
    const cgroups = new Cgroups(root);
    const dir = cgroups.path(key);
    expect(dir).toBe(join(root, SLICE, "edge-1-camera-2-d00d00d00d00"));
    // The kernel makes memory.swap.max where swap is accounted: it is written only then.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "memory.swap.max"), "max");
    expect(cgroups.create(key, { memoryBytes: 64 * 1024 * 1024, cpuMillis: 500 })).toBe(dir);
    expect(readFileSync(join(dir, "memory.max"), "utf8")).toBe("67108864");
    expect(readFileSync(join(dir, "memory.swap.max"), "utf8")).toBe("0");
    expect(readFileSync(join(dir, "cpu.max"), "utf8")).toBe("50000 100000");
    const other = cgroups.create({ ...key, index: 3 }, { cpuMillis: 2000 });
    expect(readFileSync(join(other, "cpu.max"), "utf8")).toBe("200000 100000");
    expect(existsSync(join(other, "memory.max"))).toBe(false);
    expect(existsSync(join(other, "memory.swap.max"))).toBe(false);
  });

  test("limit files and the oom_kill count", () => {
    expect(limitFiles({ memoryBytes: 1024 })).toEqual({ "memory.max": "1024", "memory.swap.max": "0" });
    expect(limitFiles({ cpuMillis: 1 })).toEqual({ "cpu.max": "100 100000" });
    expect(oomKillCount("low 0\nhigh 0\nmax 12\noom 1\noom_kill 3\noom_group_kill 0\n")).toBe(3);
    expect(oomKillCount("")).toBe(0);
  });

  test("the wrapper moves itself into the cgroup, then execs the program", async () => {
    const dir = join(scratch, "wrapped");
    mkdirSync(dir);
    const child = Bun.spawn(wrap(dir, ["sh", "-c", "echo $$"]), { stdout: "pipe" });
    const printed = (await new Response(child.stdout).text()).trim();
    expect(await child.exited).toBe(0);
    // Same process: the program's pid is the one written to cgroup.procs.
    expect(readFileSync(join(dir, "cgroup.procs"), "utf8").trim()).toBe(printed);
  });
});

describe("ExecDriver with resources", () => {
  const workerDir = join(scratch, "worker");
  mkdirSync(workerDir, { recursive: true });
  let i = 0;
  function launch(command: string[], resources?: Record<string, unknown>): LaunchSpec {
    const instance = `${instancePrefix(scratch)}run-${i++}`;
    return {
      key: { node: "edge-1", service: "svc", index: 0, instance },
      template: templateSchema.parse({ command, ...(resources ? { resources } : {}) }),
      env: { LEVEE_WORKER_ID: instance },
      workerDir,
      logFile: join(workerDir, "logs", "current.log"),
      mounts: [],
      agentId: scratch,
    };
  }

  test("runs in its cgroup; memory.events' oom_kill at the exit makes it OOMKilled", async () => {
    const root = fakeRoot("cpu memory");
    const cgroups = new Cgroups(root);
    const driver = new ExecDriver(process.env, { cgroups });
    const spec = launch(["sh", "-c", "sleep 0.3; exit 137"], { memory: "64Mi", cpu: "250m" });
    const dir = cgroups.path(spec.key);
    const instance = await driver.start(spec);
    expect(instance.notice).toBeUndefined();
    expect(readFileSync(join(dir, "memory.max"), "utf8")).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(dir, "cpu.max"), "utf8")).toBe("25000 100000");
    // What the kernel writes when it kills a process of the cgroup for its limit.
    writeFileSync(join(dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    const exit = await instance.exited;
    expect(exit).toEqual({ exitCode: 137, signal: null, reason: "OOMKilled" });
    expect(readFileSync(join(dir, "cgroup.procs"), "utf8").trim()).toBe(String(instance.ref.pid));
  });

  test("an exit without oom_kill has no reason", async () => {
    const cgroups = new Cgroups(fakeRoot("cpu memory"));
    const instance = await new ExecDriver(process.env, { cgroups }).start(
      launch(["true"], { memory: "64Mi" }),
    );
    expect(await instance.exited).toEqual({ exitCode: 0, signal: null });
  });

  test("where limits cannot be enforced the worker runs, the instance says so, and the log once", async () => {
    const warned: unknown[] = [];
    const driver = new ExecDriver(process.env, {
      cgroups: new Cgroups(fakeRoot(undefined)),
      warn: (message, fields) => warned.push({ message, ...fields }),
    });
    const first = await driver.start(launch(["true"], { memory: "64Mi" }));
    expect(first.notice).toMatch(/^resource limits not enforced: .* is not a cgroup v2 hierarchy/);
    expect(await first.exited).toEqual({ exitCode: 0, signal: null });
    await (await driver.start(launch(["true"], { cpu: 1 }))).exited;
    expect(warned).toEqual([
      {
        message: "resource limits of exec workers are not enforced on this node",
        problem: expect.stringContaining("is not a cgroup v2 hierarchy"),
      },
    ]);
    // Without resources nothing is said.
    expect((await driver.start(launch(["true"]))).notice).toBeUndefined();
  });

  test.skipIf(process.getuid?.() !== 0)(
    "with a user: the wrapper enters the cgroup as root, the program runs as the user",
    async () => {
      const cgroups = new Cgroups(fakeRoot("cpu memory"));
      const spec = launch(["sh", "-c", "id -u; id -g"], { memory: "64Mi" });
      spec.template = { ...spec.template, user: 65534, group: 65534 };
      const instance = await new ExecDriver(process.env, { cgroups }).start(spec);
      expect(await instance.exited).toEqual({ exitCode: 0, signal: null });
      expect(readFileSync(join(cgroups.path(spec.key), "cgroup.procs"), "utf8").trim()).toBe(
        String(instance.ref.pid),
      );
      expect(readFileSync(spec.logFile, "utf8").endsWith("65534\n65534\n")).toBe(true);
    },
  );
});
