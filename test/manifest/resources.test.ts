// template.resources: Kubernetes' quantities parsed (cpu in cores or thousandths, memory with
// binary and decimal suffixes), and bad values refused with the field's path.
import { describe, expect, test } from "bun:test";
import { cpuMillis, memoryBytes, resourceLimits } from "../../src/manifest/resources.ts";
import { expectOneIssue, objectsOf, serviceYaml } from "./helpers.ts";

describe("quantities", () => {
  test("cpu: cores or thousandths of a core", () => {
    expect(cpuMillis("500m")).toBe(500);
    expect(cpuMillis("0.5")).toBe(500);
    expect(cpuMillis(2)).toBe(2000);
    expect(cpuMillis("1.25")).toBe(1250);
    expect(cpuMillis(0.001)).toBe(1);
    for (const bad of ["", "0", "0m", "-1", "1.5m", "0.0001", "2 cores", "1e3", "m"])
      expect(cpuMillis(bad)).toBeUndefined();
  });

  test("memory: bytes, binary and decimal suffixes", () => {
    expect(memoryBytes("256Mi")).toBe(256 * 1024 * 1024);
    expect(memoryBytes("1Gi")).toBe(2 ** 30);
    expect(memoryBytes("1.5Gi")).toBe(1.5 * 2 ** 30);
    expect(memoryBytes("500M")).toBe(500_000_000);
    expect(memoryBytes("128k")).toBe(128_000);
    expect(memoryBytes(67108864)).toBe(67108864);
    expect(memoryBytes("67108864")).toBe(67108864);
    for (const bad of ["", "0", "-1Mi", "1MB", "1mi", "1 Gi", "Mi", "1Ei"])
      expect(memoryBytes(bad)).toBeUndefined();
    expect(memoryBytes(1.5)).toBeUndefined();
  });

  test("parsed limits of a template's resources", () => {
    expect(resourceLimits(undefined)).toBeUndefined();
    expect(resourceLimits({})).toBeUndefined();
    expect(resourceLimits({ cpu: "250m", memory: "64Mi" })).toEqual({
      cpuMillis: 250,
      memoryBytes: 64 * 2 ** 20,
    });
  });
});

describe("template.resources", () => {
  const spec = (resources: string) => `
    template:
      command: [sleep, "60"]
      resources: ${resources}
    workers: [{node: edge-1}]
  `;

  test("valid limits are kept as written", () => {
    const [service] = objectsOf(serviceYaml(spec('{cpu: "500m", memory: 256Mi}')));
    if (service?.kind !== "Service") throw new Error("expected a Service");
    expect(service.spec.template.resources).toEqual({ cpu: "500m", memory: "256Mi" });
  });

  test("bad values name the field", () => {
    expectOneIssue(
      serviceYaml(spec("{memory: 256MB}")),
      "spec.template.resources.memory",
      /expected a memory quantity.*"256Mi"/,
    );
    expectOneIssue(serviceYaml(spec("{memory: 1Mi}")), "spec.template.resources.memory", /at least 6Mi/);
    expectOneIssue(
      serviceYaml(spec('{cpu: "half"}')),
      "spec.template.resources.cpu",
      /expected a cpu quantity/,
    );
    expectOneIssue(serviceYaml(spec("{cpu: 0}")), "spec.template.resources.cpu", /at least "1m"/);
    expectOneIssue(serviceYaml(spec("{gpu: 1}")), "spec.template.resources.gpu", /unknown field/);
  });
});
