// The worker controller's lifecycle with a fake driver (in memory, with controllable exits and
// health): adoption at boot, a spec changed while the agent was down, surge and replace updates,
// a liveness restart, a crash loop's growing backoff, a failed spec's slow retry, and a long
// prestart aborted by a newer spec. Backoff and retry schedules run on fake timers.
import { describe, expect, jest, spyOn, test } from "bun:test";
import { join } from "node:path";
import type { Template } from "../../../src/manifest/template.ts";
import { type DesiredWorker, desiredWorker } from "../../../src/node/workers/desired.ts";
import { WorkerSpecError } from "../../../src/node/workers/drivers/driver.ts";
import type { ArtifactSource } from "../../../src/node/workers/prestart/mount-resolver.ts";
import { controllerTestbed } from "./controller-testbed.ts";
import { fastHealth, settle, template, waitFor } from "./lifecycle-helpers.ts";

const { root, node } = controllerTestbed("levee-controller-");

/** Restarts within milliseconds, so that real-timer tests do not wait for the default 1 s. */
const quickRestart = { backoff: { initial: "5ms", max: "10ms" } };

function desired(t: Template, generation = 1): DesiredWorker {
  return desiredWorker("web", 0, generation, t, {});
}

describe("boot (the agent starts again)", () => {
  test("an instance that still runs the desired spec is adopted, not restarted, and watched again", async () => {
    const n = node();
    const d = desired(template({ restart: quickRestart }));
    const before = n.controller(d);
    await before.setDesired(d);
    const instance = n.driver.last();
    before.detach(); // the agent goes away; the worker keeps running

    const after = n.controller(d, before.state);
    await after.boot();
    expect(n.driver.launches).toHaveLength(1);
    expect(instance.stopped).toBe(false);
    expect(after.state).toMatchObject({ phase: "ready", ready: true, pid: instance.pid, restarts: 0 });

    instance.exit({ exitCode: 1, signal: null });
    await waitFor("the adopted instance's exit restarts it", () => n.driver.launches.length === 2);
    expect(after.state.restarts).toBe(1);
  });

  test("a spec changed while the agent was down: the old instance is stopped, the new spec started", async () => {
    const n = node();
    const v1 = desired(template({ env: { V: "1" } }));
    const before = n.controller(v1);
    await before.setDesired(v1);
    const old = n.driver.last();
    before.detach();

    const v2 = desired(template({ env: { V: "2" } }), 2);
    const after = n.controller(v2, before.state);
    await after.boot();
    expect(old.stopped).toBe(true);
    const fresh = n.driver.last();
    expect(fresh).not.toBe(old);
    expect(fresh.spec.env.V).toBe("2");
    expect(n.driver.timeline.indexOf(`stop ${old.pid}`)).toBeLessThan(
      n.driver.timeline.indexOf(`start ${fresh.pid}`),
    );
    expect(after.state).toMatchObject({
      phase: "ready",
      specHash: v2.specHash,
      generation: 2,
      pid: fresh.pid,
    });
    expect(n.messages()).toContain("stopped: its spec changed while the agent was down");
  });

  test("an instance that ended while the agent was down is restarted per policy, counted", async () => {
    const n = node();
    const d = desired(template({ restart: quickRestart }));
    const before = n.controller(d);
    await before.setDesired(d);
    before.detach();
    n.driver.last().exit({ exitCode: 0, signal: null });

    const after = n.controller(d, before.state);
    await after.boot();
    expect(after.state.phase).toBe("backoff");
    expect(after.state.message).toMatch(
      /^ended while the agent was not watching \(exit status unknown\); restarting in \d+ms$/,
    );
    await waitFor("restarted", () => after.state.ready);
    expect(after.state.restarts).toBe(1);
  });
});

describe("updates", () => {
  test("surge: the new instance is ready before the old one stops; it gets a port of its own", async () => {
    const n = node();
    const t = (v: string) => template({ env: { V: v }, update: "surge", port: "auto", health: fastHealth() });
    const c = n.controller(desired(t("1")));
    await c.setDesired(desired(t("1")));
    await waitFor("ready", () => c.state.ready);
    const old = n.driver.last();
    const oldPort = c.state.port;

    n.driver.healthyOnStart = false;
    const v2 = desired(t("2"), 2);
    const update = c.setDesired(v2);
    await waitFor("the new instance started", () => n.driver.launches.length === 2);
    const fresh = n.driver.last();
    await Bun.sleep(50); // ten health checks: the new one is not ready, the old one keeps running
    expect(old.alive).toBe(true);
    expect(c.state).toMatchObject({ phase: "running", ready: false, pid: fresh.pid });

    fresh.healthy = true;
    await update;
    expect(old.stopped).toBe(true);
    expect(fresh.alive).toBe(true);
    expect(c.state).toMatchObject({ phase: "ready", ready: true, pid: fresh.pid, specHash: v2.specHash });
    const timeline = n.driver.timeline;
    expect(timeline.indexOf(`ready ${fresh.pid}`)).toBeGreaterThan(-1);
    expect(timeline.indexOf(`ready ${fresh.pid}`)).toBeLessThan(timeline.indexOf(`stop ${old.pid}`));
    expect(fresh.spec.port).toBe(c.state.port as number);
    expect(c.state.port).not.toBe(oldPort);
  });

  test("replace: the old instance stops before the new one starts, and the port stays", async () => {
    const n = node();
    const t = (v: string) => template({ env: { V: v }, port: "auto" });
    const c = n.controller(desired(t("1")));
    await c.setDesired(desired(t("1")));
    const old = n.driver.last();
    const port = c.state.port;
    await c.setDesired(desired(t("2"), 2));
    const fresh = n.driver.last();
    expect(n.driver.timeline.indexOf(`stop ${old.pid}`)).toBeLessThan(
      n.driver.timeline.indexOf(`start ${fresh.pid}`),
    );
    expect(c.state).toMatchObject({ phase: "ready", pid: fresh.pid, port });
  });
});

describe("failures", () => {
  test("liveness: a worker that was ready and then fails its check is stopped and restarted", async () => {
    const n = node();
    const d = desired(template({ health: fastHealth({ liveness: true }), restart: quickRestart }));
    const c = n.controller(d);
    await c.setDesired(d);
    await waitFor("ready", () => c.state.ready);
    const sick = n.driver.last();

    sick.healthy = false;
    await waitFor("restarted and ready", () => n.driver.launches.length === 2 && c.state.ready);
    expect(sick.stopped).toBe(true);
    expect(c.state).toMatchObject({ phase: "ready", restarts: 1, pid: n.driver.last().pid });
    expect(n.messages()).toContain("stopped: liveness check failed: command exited 1");
    expect(n.messages().some((m) => /^liveness: command exited 1; restarting in \d+ms$/.test(m))).toBe(true);
  });

  test("crash loop: quick exits double the backoff, count restarts, and say so; a stable run resets", async () => {
    jest.useFakeTimers();
    const random = spyOn(Math, "random").mockReturnValue(0.5);
    try {
      const n = node();
      const d = desired(template({ restart: { backoff: { initial: "1s", max: "8s" } } }));
      const c = n.controller(d);
      await c.setDesired(d);
      const delays = [500, 1000, 2000, 4000, 4000];
      for (const [i, delay] of delays.entries()) {
        n.driver.last().exit({ exitCode: 1, signal: null });
        await settle();
        expect(c.state).toMatchObject({ phase: "backoff", ready: false, restarts: i + 1, exitCode: 1 });
        jest.advanceTimersByTime(delay - 1);
        await settle();
        expect(n.driver.launches).toHaveLength(i + 1);
        jest.advanceTimersByTime(1);
        await settle();
        expect(n.driver.launches).toHaveLength(i + 2);
      }
      const backoffs = n.statuses.filter((s) => s.phase === "backoff").map((s) => s.message);
      expect(backoffs).toEqual([
        "exit code 1; restarting in 500ms",
        "exit code 1; restarting in 1s",
        "crash loop: exited 3 times in a row soon after starting; last: exit code 1; restarting in 2s",
        "crash loop: exited 4 times in a row soon after starting; last: exit code 1; restarting in 4s",
        "crash loop: exited 5 times in a row soon after starting; last: exit code 1; restarting in 4s",
      ]);

      jest.advanceTimersByTime(61_000); // a stable run
      n.driver.last().exit({ exitCode: 1, signal: null });
      await settle();
      expect(c.state).toMatchObject({ restarts: 6, message: "exit code 1; restarting in 500ms" });
    } finally {
      random.mockRestore();
    }
  });

  test("a failed spec (WorkerSpecError): phase failed with the message, a slow retry, no restart loop", async () => {
    jest.useFakeTimers();
    const n = node();
    const d = desired(template());
    n.driver.failNextStart(new WorkerSpecError("command not found: no-such-program"), 2);
    const c = n.controller(d);
    await c.setDesired(d);
    const failed = {
      phase: "failed",
      ready: false,
      restarts: 0,
      instance: null,
      message: "command not found: no-such-program; retrying in 30s",
    };
    expect(c.state).toMatchObject(failed);
    jest.advanceTimersByTime(29_999);
    await settle();
    expect(n.driver.launches).toHaveLength(1);
    jest.advanceTimersByTime(1);
    await settle();
    expect(n.driver.launches).toHaveLength(2);
    expect(c.state).toMatchObject(failed);
    jest.advanceTimersByTime(30_000); // the image was loaded meanwhile: it starts
    await settle();
    expect(c.state).toMatchObject({ phase: "ready", restarts: 0 });
    expect(n.statuses.map((s) => s.phase)).not.toContain("backoff");
  });

  test("a spec a prestart step refuses never reaches the driver; fixing the spec starts it at once", async () => {
    jest.useFakeTimers();
    const n = node();
    const missing = join(root, "no-such-dir");
    const bad = desired(
      template({ mounts: [{ hostPath: { path: missing, pathType: "Directory" }, envName: "D" }] }),
    );
    const c = n.controller(bad);
    await c.setDesired(bad);
    expect(c.state.phase).toBe("failed");
    expect(c.state.message).toBe(
      `mounts[0].hostPath: ${missing} does not exist (pathType Directory); retrying in 30s`,
    );
    expect(n.driver.launches).toHaveLength(0);
    await c.setDesired(desired(template(), 2));
    expect(c.state).toMatchObject({ phase: "ready", generation: 2 });
    expect(n.driver.launches).toHaveLength(1);
  });

  test("a transient start error backs off like a quick exit, without counting a restart", async () => {
    jest.useFakeTimers();
    const random = spyOn(Math, "random").mockReturnValue(0.5);
    try {
      const n = node();
      const d = desired(template());
      n.driver.failNextStart(new Error("docker daemon not reachable"));
      const c = n.controller(d);
      await c.setDesired(d);
      expect(c.state).toMatchObject({
        phase: "backoff",
        restarts: 0,
        message: "cannot start: docker daemon not reachable; retrying in 500ms",
      });
      jest.advanceTimersByTime(500);
      await settle();
      expect(c.state).toMatchObject({ phase: "ready", restarts: 0 });
    } finally {
      random.mockRestore();
    }
  });
});

describe("prestart and removal", () => {
  test("a newer spec aborts a download in progress and starts at once", async () => {
    const aborted: unknown[] = [];
    const artifacts: ArtifactSource = {
      ensure: (_ref, options) =>
        new Promise((_resolve, reject) => {
          options?.signal?.addEventListener("abort", () => {
            aborted.push(options.signal?.reason);
            reject(options.signal?.reason);
          });
        }),
    };
    const n = node({ artifacts });
    const withModel = desired(
      template({ mounts: [{ artifact: { sha256: "a".repeat(64), name: "model.bin" }, envName: "M" }] }),
    );
    const c = n.controller(withModel);
    const first = c.setDesired(withModel);
    await waitFor("fetching", () => c.state.phase === "fetching");
    expect(c.state.message).toBe("fetching artifacts");
    await c.setDesired(desired(template(), 2));
    await first;
    expect(aborted).toHaveLength(1);
    expect(n.driver.launches).toHaveLength(1);
    expect(n.driver.last().spec.env.M).toBeUndefined();
    expect(c.state).toMatchObject({ phase: "ready", generation: 2 });
  });

  test("the prestart steps contribute the launch: directory, port, environment", async () => {
    const n = node();
    const d = desired(template({ port: "auto", env: { GREETING: "hi" } }));
    const c = n.controller(d);
    await c.setDesired(d);
    const { spec } = n.driver.last();
    expect(spec.port).toBe(c.state.port as number);
    expect(spec.env).toMatchObject({
      GREETING: "hi",
      PORT: String(spec.port),
      NODE_NAME: "edge1",
      SERVICE_NAME: "web",
      LEVEE_WORKER_ID: spec.key.instance,
      LEVEE_WORKER_DIR: spec.workerDir,
    });
    expect(c.state.instance).toBe(spec.key.instance);
  });

  test("removal stops the instance and forgets the worker", async () => {
    const n = node();
    const d = desired(template());
    const c = n.controller(d);
    await c.setDesired(d);
    const instance = n.driver.last();
    await c.remove();
    expect(instance.stopped).toBe(true);
    expect(n.removed).toEqual(["web/0"]);
    expect(c.state).toMatchObject({ phase: "stopped", message: "stopped: it was removed from the plan" });
  });
});
