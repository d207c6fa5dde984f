// Restarts requested through the plan (a worker's `restart` count), with the fake driver: another
// count replaces the running instance (stop, then start, also with update: surge) without a spec
// change; the same count again does nothing; a worker in crash-loop backoff starts at once with
// the backoff reset; and across an agent restart the stored count decides (unchanged: adopted,
// changed while the agent was down: replaced, or started at once if it had ended).
import { describe, expect, jest, spyOn, test } from "bun:test";
import type { Template } from "../../../src/manifest/template.ts";
import { type DesiredWorker, desiredWorker } from "../../../src/node/workers/desired.ts";
import { controllerTestbed } from "./controller-testbed.ts";
import { settle, template } from "./lifecycle-helpers.ts";

const { node } = controllerTestbed("levee-restart-");

function desired(t: Template, restart: number): DesiredWorker {
  return desiredWorker("web", 0, 1, t, {}, restart);
}

describe("a restart count in the plan", () => {
  test("another count: the instance is stopped, then a new one started; the same count again changes nothing", async () => {
    const n = node();
    const t = template({ port: "auto" });
    const c = n.controller(desired(t, 0));
    await c.setDesired(desired(t, 0));
    const old = n.driver.last();
    const port = c.state.port;

    await c.setDesired(desired(t, 1));
    const fresh = n.driver.last();
    expect(fresh).not.toBe(old);
    expect(old.stopped).toBe(true);
    expect(n.driver.timeline.indexOf(`stop ${old.pid}`)).toBeLessThan(
      n.driver.timeline.indexOf(`start ${fresh.pid}`),
    );
    expect(c.state).toMatchObject({ phase: "ready", pid: fresh.pid, port, generation: 1, restartRequest: 1 });
    // Not an exit: the restart count the cloud shows stays.
    expect(c.state.restarts).toBe(0);
    expect(n.messages()).toContain("stopped: a restart was requested");

    await c.setDesired(desired(t, 1)); // the next plan (another service changed): same count
    await c.setDesired(desired(template({ port: "auto" }), 1));
    expect(n.driver.launches).toHaveLength(2);
    expect(fresh.alive).toBe(true);
  });

  test("update: surge is for spec changes: a restart stops the old instance first", async () => {
    const n = node();
    const t = template({ update: "surge" });
    const c = n.controller(desired(t, 3));
    await c.setDesired(desired(t, 3));
    const old = n.driver.last();
    await c.setDesired(desired(t, 4));
    const fresh = n.driver.last();
    expect(n.driver.timeline.indexOf(`stop ${old.pid}`)).toBeLessThan(
      n.driver.timeline.indexOf(`start ${fresh.pid}`),
    );
  });

  test("in crash-loop backoff: started at once, and the backoff starts over", async () => {
    jest.useFakeTimers();
    const random = spyOn(Math, "random").mockReturnValue(0.5);
    try {
      const n = node();
      const t = template({ restart: { backoff: { initial: "1s", max: "5m" } } });
      const c = n.controller(desired(t, 0));
      await c.setDesired(desired(t, 0));
      // Four quick exits: the next restart is 4 s away.
      for (const delay of [500, 1000, 2000]) {
        n.driver.last().exit({ exitCode: 1, signal: null });
        await settle();
        jest.advanceTimersByTime(delay);
        await settle();
      }
      n.driver.last().exit({ exitCode: 1, signal: null });
      await settle();
      expect(c.state.message).toContain("restarting in 4s");
      expect(n.driver.launches).toHaveLength(4);

      await c.setDesired(desired(t, 1));
      expect(n.driver.launches).toHaveLength(5);
      expect(c.state.phase).toBe("ready");
      jest.advanceTimersByTime(4_000); // the cancelled backoff starts nothing
      await settle();
      expect(n.driver.launches).toHaveLength(5);

      n.driver.last().exit({ exitCode: 1, signal: null });
      await settle();
      expect(c.state.message).toBe("exit code 1; restarting in 500ms");
    } finally {
      random.mockRestore();
    }
  });
});

describe("an agent restart", () => {
  test("the count the instance was started with: adopted, not restarted", async () => {
    const n = node();
    const d = desired(template(), 2);
    const before = n.controller(d);
    await before.setDesired(d);
    const instance = n.driver.last();
    before.detach();

    const after = n.controller(d, before.state);
    await after.boot();
    expect(n.driver.launches).toHaveLength(1);
    expect(instance.stopped).toBe(false);
    expect(after.state).toMatchObject({ phase: "ready", pid: instance.pid });
  });

  test("a count changed while the agent was down: the instance is replaced", async () => {
    const n = node();
    const before = n.controller(desired(template(), 0));
    await before.setDesired(desired(template(), 0));
    const old = n.driver.last();
    before.detach();

    const after = n.controller(desired(template(), 1), before.state);
    await after.boot();
    expect(old.stopped).toBe(true);
    expect(after.state).toMatchObject({ phase: "ready", pid: n.driver.last().pid, restartRequest: 1 });
    expect(n.messages()).toContain("stopped: a restart was requested while the agent was down");
  });

  test("ended while the agent was down, and a restart requested: started at once, no backoff", async () => {
    const n = node();
    const t = template({ restart: { backoff: { initial: "1h", max: "1h" } } });
    const before = n.controller(desired(t, 0));
    await before.setDesired(desired(t, 0));
    before.detach();
    n.driver.last().exit({ exitCode: 1, signal: null });

    const after = n.controller(desired(t, 1), before.state);
    await after.boot();
    expect(n.driver.launches).toHaveLength(2);
    expect(after.state).toMatchObject({ phase: "ready", restartRequest: 1 });
  });
});
