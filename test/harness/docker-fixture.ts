// What the container driver's tests share: LaunchSpecs for TEST_IMAGE, and a fixture that holds
// the daemon, a driver on it and a scratch directory, and removes every container its tests made.
//
//   const f = containerFixture("adopt");
//   beforeAll(f.setup, 120_000);
//   afterAll(f.cleanup);
//   test("...", async () => { const instance = await f.start(containerLaunch({ command: ["true"] }, f)) });
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Template, templateSchema } from "../../src/manifest/template.ts";
import { ContainerDriver } from "../../src/node/workers/drivers/container-driver.ts";
import type {
  Instance,
  InstanceKey,
  LaunchSpec,
  ResolvedMount,
} from "../../src/node/workers/drivers/driver.ts";
import { ensureDocker, removeLeveeContainers, TEST_IMAGE, type TestDocker } from "./docker.ts";

export function testInstanceKey(overrides: Partial<InstanceKey> = {}): InstanceKey {
  return { node: "edge-1", service: "camera", index: 0, instance: randomUUID(), ...overrides };
}

export interface LaunchOptions {
  env?: Record<string, string>;
  mounts?: ResolvedMount[];
  key?: InstanceKey;
  agentId?: string;
}

/** A LaunchSpec of a container worker of TEST_IMAGE; the template goes through the real schema. */
export function containerLaunch(
  template: Partial<Template> & Record<string, unknown>,
  options: LaunchOptions & { agentPrefix?: string } = {},
): LaunchSpec {
  return {
    key: options.key ?? testInstanceKey(),
    template: templateSchema.parse({ driver: "container", image: TEST_IMAGE, ...template }),
    env: options.env ?? {},
    workerDir: "/nonexistent/worker",
    logFile: "/nonexistent/worker/out.log",
    mounts: options.mounts ?? [],
    agentId: options.agentId ?? `${options.agentPrefix ?? "/tmp/levee-test-agent"}/agent`,
  };
}

export interface ContainerFixture {
  /** Every agentId of this fixture starts with it (cleanup removes their containers). */
  readonly agentPrefix: string;
  readonly docker: TestDocker;
  readonly driver: ContainerDriver;
  /** Scratch directory for bind mounts. */
  readonly dir: string;
  setup(): Promise<void>;
  cleanup(): Promise<void>;
  /** driver.start (or another driver's), remembered so that cleanup stops it. */
  start(spec: LaunchSpec, using?: ContainerDriver): Promise<Instance>;
  /** A new directory under dir with this mode. */
  freshDir(name: string, mode?: number): string;
  /** Everything the instance's container logged so far. */
  logsOf(instance: Instance, options?: { tail?: number }): Promise<string>;
  /** containerLaunch with this fixture's agent. */
  launch(template: Partial<Template> & Record<string, unknown>, options?: LaunchOptions): LaunchSpec;
}

export function containerFixture(name: string): ContainerFixture {
  const agentPrefix = `/tmp/levee-${name}-test-${randomUUID().slice(0, 8)}`;
  let docker: TestDocker | undefined;
  let driver: ContainerDriver | undefined;
  let dir: string | undefined;
  const started: Instance[] = [];
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`containerFixture: ${what} before setup()`);
    return value;
  };
  const fixture: ContainerFixture = {
    agentPrefix,
    get docker() {
      return need(docker, "docker");
    },
    get driver() {
      return need(driver, "driver");
    },
    get dir() {
      return need(dir, "dir");
    },
    async setup() {
      docker = await ensureDocker();
      driver = new ContainerDriver({ socket: docker.socket });
      dir = mkdtempSync(join(tmpdir(), `levee-${name}-`));
    },
    async cleanup() {
      for (const instance of started) await instance.stop(0).catch(() => {});
      if (docker) await removeLeveeContainers(docker.client, (agent) => agent.startsWith(agentPrefix));
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    async start(spec, using) {
      const instance = await (using ?? fixture.driver).start(spec);
      started.push(instance);
      return instance;
    },
    freshDir(sub, mode = 0o755) {
      const path = join(fixture.dir, `${sub}-${randomUUID().slice(0, 8)}`);
      mkdirSync(path, { recursive: true });
      chmodSync(path, mode);
      return path;
    },
    async logsOf(instance, options = {}) {
      let out = "";
      for await (const chunk of fixture.driver.logs(instance.ref, options))
        out += new TextDecoder().decode(chunk);
      return out;
    },
    launch: (template, options = {}) => containerLaunch(template, { ...options, agentPrefix }),
  };
  return fixture;
}
