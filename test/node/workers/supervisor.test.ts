// The supervisor with a fake driver over a real store: what an agent restart finds (adopted
// workers, a spec or a restart count changed meanwhile, orphans, workers removed meanwhile), and
// what a plan's workers go through as the cloud sees it in their statuses (surge, liveness, crash
// loop, a failed spec that fails only its own worker).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredPlan } from "../../../src/node/link/plan-store.ts";
import { type LaunchSpec, WorkerSpecError } from "../../../src/node/workers/drivers/driver.ts";
import { instancePrefix } from "../../../src/node/workers/drivers/exec-driver.ts";
import { PortRegistry } from "../../../src/node/workers/prestart/port-registry.ts";
import { Supervisor, type SupervisorOptions } from "../../../src/node/workers/supervisor.ts";
import type { WorkerStatus } from "../../../src/protocol/messages.ts";
import { openStore, type Store } from "../../../src/store/store.ts";
import { FakeDriver, type FakeInstance } from "./fake-driver.ts";
import { fastHealth, quietLog, waitFor } from "./lifecycle-helpers.ts";

const root = mkdtempSync(join(tmpdir(), "levee-supervisor-"));
const ports = new PortRegistry(join(root, "ports.db"), root);
const open: { supervisor: Supervisor; store: Store }[] = [];
afterEach(() => {
  for (const { supervisor, store } of open.splice(0)) {
    supervisor.close();
    store.close();
  }
});
afterAll(() => {
  ports.close();
  rmSync(root, { recursive: true, force: true });
});

const quickRestart = { backoff: { initial: "5ms", max: "20ms" } };
let revision = 0;

/** A stored plan with one service; `templates` are its workers' templates on this node. */
function plan(service: string, templates: Record<string, unknown>[], generation = 1): StoredPlan {
  revision++;
  return {
    epoch: "e1",
    revision,
    hash: `h${revision}`,
    receivedAt: new Date().toISOString(),
    plan: {
      node: "edge1",
      services: [
        {
          name: service,
          uid: `uid-${service}`,
          generation,
          workers: templates.map((template, index) => ({
            index,
            template: { command: ["worker"], ...template },
          })),
        },
      ],
      configFiles: {},
    },
  };
}

/** One host: a data dir and a fake driver (its instances outlive agents); agents come and go on it. */
function host() {
  const dataDir = mkdtempSync(join(root, "data-"));
  const driver = new FakeDriver();
  const statuses: WorkerStatus[] = [];
  const agent = (extra: Partial<SupervisorOptions> = {}) => {
    const store = openStore({ dataDir, mode: "edge" });
    const supervisor = new Supervisor({
      ...extra,
      store,
      log: quietLog,
      node: "edge1",
      dataDir,
      agentId: dataDir,
      agentUrl: "http://127.0.0.1:7070",
      drivers: { exec: driver, container: () => driver },
      ports,
      status: (status) => {
        statuses.push(status);
        driver.timeline.push(`${status.phase} g${status.generation}`);
      },
    });
    open.push({ supervisor, store });
    return supervisor;
  };
  /** The agent stops (its workers keep running). */
  const stop = (supervisor: Supervisor) => {
    const i = open.findIndex((o) => o.supervisor === supervisor);
    const [entry] = open.splice(i, 1);
    entry?.supervisor.close();
    entry?.store.close();
  };
  const pids = (s: Supervisor) => s.snapshot().map((w) => w.pid);
  return { dataDir, driver, statuses, agent, stop, pids };
}

describe("an agent restart", () => {
  test("running workers with the desired spec are adopted: same pids, nothing started", async () => {
    const h = host();
    const p = plan("web", [{}, {}]);
    const first = h.agent();
    await first.start(p);
    const before = h.pids(first);
    expect(h.driver.alive()).toHaveLength(2);
    h.stop(first);

    const second = h.agent();
    await second.start(p);
    expect(h.driver.launches).toHaveLength(2);
    expect(h.pids(second)).toEqual(before);
    expect(second.snapshot().every((w) => w.phase === "ready" && w.restarts === 0)).toBe(true);
  });

  test("a spec changed while the agent was down replaces the worker at start", async () => {
    const h = host();
    const first = h.agent();
    await first.start(plan("web", [{ env: { V: "1" } }]));
    const [old] = h.driver.alive();
    h.stop(first);

    const second = h.agent();
    await second.start(plan("web", [{ env: { V: "2" } }], 2));
    expect(old?.stopped).toBe(true);
    const [now] = h.driver.alive();
    expect(now?.spec.env.V).toBe("2");
    expect(second.snapshot()).toMatchObject([{ phase: "ready", pid: now?.pid }]);
  });

  test("restart counts are stored with the workers: the same count adopts, another replaces that worker only", async () => {
    const h = host();
    const withRestart = (restart: number) => {
      const p = plan("web", [{}, {}]);
      const workers = (p.plan.services as { workers: { restart?: number }[] }[])[0]?.workers ?? [];
      if (workers[1]) workers[1].restart = restart;
      return p;
    };
    const first = h.agent();
    await first.start(withRestart(1));
    const [a, b] = h.pids(first);
    h.stop(first);

    const second = h.agent();
    await second.start(withRestart(1));
    expect(h.pids(second)).toEqual([a ?? null, b ?? null]);
    h.stop(second);

    const third = h.agent();
    await third.start(withRestart(2));
    const [a2, b2] = h.pids(third);
    expect(a2).toBe(a as number);
    expect(b2).not.toBe(b as number);
    expect(h.driver.launches).toHaveLength(3);
  });

  test("orphans of this agent are stopped, another agent's instances are left alone", async () => {
    const h = host();
    const first = h.agent();
    await first.start(plan("web", [{}]));
    const base = h.driver.launches[0] as LaunchSpec;
    const like = (agentId: string, instance: string) => ({
      ...base,
      agentId,
      key: { ...base.key, instance },
    });
    const ours = h.driver.plant(like(h.dataDir, `${instancePrefix(h.dataDir)}lost`));
    const theirs = h.driver.plant(like("/other/agent", "x-1"));
    h.stop(first);

    const second = h.agent();
    await second.start(plan("web", [{}]));
    expect(ours.stopped).toBe(true);
    expect(theirs.stopped).toBe(false);
    expect(h.driver.alive()).toHaveLength(2);
  });

  test("a launch the agent died in the middle of (instance id stored, no pid yet): its instance is an orphan, the worker runs once", async () => {
    const h = host();
    const first = h.agent();
    await first.start(plan("web", [{}]));
    const [launched] = h.driver.alive();
    h.stop(first);
    // As if the agent was killed between writing the new instance id and the pid the start returned.
    const store = openStore({ dataDir: h.dataDir, mode: "edge" });
    store.db.query("UPDATE workers SET pid = NULL, pid_start = NULL").run();
    store.close();

    const second = h.agent();
    await second.start(plan("web", [{}]));
    expect(launched?.stopped).toBe(true);
    await waitFor(
      "one instance, the one the record names",
      () => h.driver.alive().length === 1 && second.snapshot()[0]?.pid === h.driver.alive()[0]?.ref.pid,
    );
    expect(h.driver.alive()).toHaveLength(1);
  });

  test("a plan that arrives while the agent boots waits for the boot: the running worker is adopted, not started twice", async () => {
    const h = host();
    const first = h.agent();
    await first.start(plan("web", [{}]));
    const [running] = h.driver.alive();
    h.stop(first);

    const second = h.agent();
    const booting = second.start(plan("web", [{}]));
    const applying = second.apply(plan("web", [{}]));
    await Promise.all([booting, applying]);
    expect(h.driver.alive()).toEqual([running as FakeInstance]);
    expect(h.driver.launches).toHaveLength(1);
  });

  test("the boot clears what the stored plan no longer mounts (a crash cut the last plan's cleanup short)", async () => {
    const h = host();
    const sha = (c: string) => c.repeat(64);
    const mount = (c: string) => ({
      mounts: [{ artifact: { sha256: sha(c), name: "model.bin", size: 1 }, envName: "MODEL" }],
    });
    const collected: string[][] = [];
    const artifacts = {
      ensure: async () => "/dev/null",
      gc: (inUse: ReadonlySet<string>) => collected.push([...inUse]),
    };
    const first = h.agent({ artifacts });
    await first.start(plan("model", [mount("a")]));
    h.stop(first);
    collected.length = 0;
    const second = h.agent({ artifacts });
    await second.start(plan("model", [mount("b")]));
    expect(collected).toEqual([[sha("b")]]);
  });

  test("a worker removed from the plan while the agent was down is stopped and forgotten", async () => {
    const h = host();
    const first = h.agent();
    await first.start(plan("gone", [{}]));
    const [gone] = h.driver.alive();
    h.stop(first);

    const second = h.agent();
    await second.start(plan("stays", [{}]));
    expect(gone?.stopped).toBe(true);
    expect(second.snapshot().map((w) => w.service)).toEqual(["stays"]);
  });
});

describe("a plan's workers as their statuses tell it", () => {
  test("surge: the new instance is ready before the old one is stopped", async () => {
    const h = host();
    const s = h.agent();
    const t = (v: string) => ({ env: { V: v }, update: "surge", health: fastHealth() });
    await s.start(plan("web", [t("1")]));
    await waitFor("ready", () => s.snapshot()[0]?.ready === true);
    const [old] = h.driver.alive();
    h.driver.healthyOnStart = false;
    const applied = s.apply(plan("web", [t("2")], 2));
    await waitFor("the new instance started", () => h.driver.launches.length === 2);
    await Bun.sleep(30);
    expect(old?.alive).toBe(true);
    h.driver.last().healthy = true;
    await applied;
    expect(old?.stopped).toBe(true);
    const readyAt = h.driver.timeline.indexOf("ready g2");
    expect(readyAt).toBeGreaterThan(-1);
    expect(readyAt).toBeLessThan(h.driver.timeline.indexOf(`stop ${old?.pid}`));
    expect(s.snapshot()).toMatchObject([{ ready: true, pid: h.driver.last().pid }]);
  });

  test("liveness: an unhealthy worker is restarted, its restart counted", async () => {
    const h = host();
    const s = h.agent();
    await s.start(plan("web", [{ health: fastHealth({ liveness: true }), restart: quickRestart }]));
    await waitFor("ready", () => s.snapshot()[0]?.ready === true);
    h.driver.last().healthy = false;
    await waitFor("restarted", () => s.snapshot()[0]?.restarts === 1 && s.snapshot()[0]?.ready === true);
    expect(h.statuses.some((st) => st.message === "stopped: liveness check failed: command exited 1")).toBe(
      true,
    );
  });

  test("crash loop: the status says so, with the restart count", async () => {
    const h = host();
    const s = h.agent();
    await s.start(plan("web", [{ restart: quickRestart }]));
    for (let i = 1; i <= 3; i++) {
      h.driver.last().exit({ exitCode: 2, signal: null });
      await waitFor(`start ${i + 1}`, () => h.driver.launches.length === i + 1);
    }
    const loop = h.statuses.find((st) => st.message.startsWith("crash loop"));
    expect(loop).toMatchObject({ phase: "backoff", restarts: 3, exitCode: 2 });
    expect(loop?.message).toMatch(
      /^crash loop: exited 3 times in a row soon after starting; last: exit code 2; restarting in \d+ms$/,
    );
  });

  test("a failed spec fails only its own worker, with the cause, and is not restarted in a loop", async () => {
    const h = host();
    const s = h.agent();
    h.driver.failNextStart(new WorkerSpecError("command not found: nope"));
    await s.start(plan("web", [{}, {}]));
    await Bun.sleep(30);
    expect(h.driver.launches).toHaveLength(2);
    const byIndex = new Map(s.snapshot().map((w) => [w.index, w]));
    expect(byIndex.get(0)).toMatchObject({
      phase: "failed",
      restarts: 0,
      message: "command not found: nope; retrying in 30s",
    });
    expect(byIndex.get(1)).toMatchObject({ phase: "ready" });
    expect(h.statuses.filter((st) => st.index === 0).map((st) => st.phase)).toEqual(["starting", "failed"]);
  });
});
