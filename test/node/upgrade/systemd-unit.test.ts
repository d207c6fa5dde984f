import { describe, expect, test } from "bun:test";
import { serviceOfCgroup } from "../../../src/node/upgrade/systemd-unit.ts";

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
