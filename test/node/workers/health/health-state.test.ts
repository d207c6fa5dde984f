import { describe, expect, test } from "bun:test";
import { HealthState } from "../../../../src/node/workers/health/health-state.ts";

describe("HealthState", () => {
  test("ready after successThreshold passes, not ready after failureThreshold failures", () => {
    const h = new HealthState({ successThreshold: 2, failureThreshold: 3, liveness: false });
    expect(h.record(true)).toEqual({ ready: false, changed: false, restart: false });
    expect(h.record(true)).toEqual({ ready: true, changed: true, restart: false });
    expect(h.record(false).ready).toBe(true);
    expect(h.record(false).ready).toBe(true);
    expect(h.record(false)).toEqual({ ready: false, changed: true, restart: false });
    expect(h.record(true).ready).toBe(false);
    expect(h.record(true).ready).toBe(true);
  });

  test("liveness restarts only a worker that was ready once, after failureThreshold failures", () => {
    const h = new HealthState({ successThreshold: 1, failureThreshold: 2, liveness: true });
    for (let i = 0; i < 10; i++) expect(h.record(false).restart).toBe(false);
    expect(h.starting).toBe(true);
    expect(h.record(true).ready).toBe(true);
    expect(h.starting).toBe(false);
    expect(h.record(false).restart).toBe(false);
    expect(h.record(false).restart).toBe(true);
  });
});
