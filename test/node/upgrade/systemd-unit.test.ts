import { describe, expect, test } from "bun:test";
import { parseUnitState, serviceOfCgroup, unitVerdict } from "../../../src/node/upgrade/systemd-unit.ts";

describe("serviceOfCgroup", () => {
  test("cgroup v2: the service of the 0:: path", () => {
    expect(serviceOfCgroup("0::/system.slice/levee-edge.service\n")).toBe("levee-edge.service");
  });

  test("hybrid: the v2 path wins; v1 only: systemd's own hierarchy", () => {
    const hybrid = "9:name=systemd:/system.slice/levee-edge.service\n0::/system.slice/levee-edge.service\n";
    expect(serviceOfCgroup(hybrid)).toBe("levee-edge.service");
    const v1 = "4:memory:/\n1:name=systemd:/system.slice/levee-cloud.service\n";
    expect(serviceOfCgroup(v1)).toBe("levee-cloud.service");
  });

  test("not a service (a scope, the root, a terminal's session): undefined", () => {
    expect(serviceOfCgroup("0::/user.slice/user-0.slice/session-3.scope\n")).toBeUndefined();
    expect(serviceOfCgroup("0::/\n")).toBeUndefined();
    expect(serviceOfCgroup("9:name=systemd:/\n0::/\n")).toBeUndefined();
    expect(serviceOfCgroup("")).toBeUndefined();
  });
});

describe("the unit's state, and when it means the new binary cannot run", () => {
  test("systemctl show's lines, in any order; missing or bad values: undefined", () => {
    expect(parseUnitState("NRestarts=4\nActiveState=activating\n")).toEqual({
      activeState: "activating",
      restarts: 4,
    });
    expect(parseUnitState("ActiveState=active\n")).toBeUndefined();
    expect(parseUnitState("ActiveState=active\nNRestarts=x\n")).toBeUndefined();
    expect(parseUnitState("")).toBeUndefined();
  });

  test("failed: at once; restarts: the old agent's exit is one, two more failed starts end it", () => {
    expect(unitVerdict(5, { activeState: "failed", restarts: 5 }, "1.1.0")).toContain("the unit failed");
    expect(unitVerdict(5, { activeState: "activating", restarts: 6 }, "1.1.0")).toBeUndefined();
    expect(unitVerdict(5, { activeState: "active", restarts: 7 }, "1.1.0")).toBeUndefined();
    expect(unitVerdict(5, { activeState: "activating", restarts: 8 }, "1.1.0")).toBe(
      "the new agent 1.1.0 kept exiting: systemd restarted the unit 3 times",
    );
  });
});
