// The build targets are one list: the build, `levee ctl upgrade --binary` and its flag's help all
// take it from src/runtime/build-targets.ts.
import { describe, expect, test } from "bun:test";
import { parseBinaries } from "../../src/cli/ctl/upgrade.ts";
import { optionMeta } from "../../src/config/schema.ts";
import { BUILD_TARGETS, isBuildTarget } from "../../src/runtime/build-targets.ts";

describe("build targets", () => {
  test("--binary takes exactly the build targets, and its help lists them", () => {
    const all = BUILD_TARGETS.map((t) => `${t}=./levee-${t}`).join(",");
    expect(parseBinaries(all).map((b) => b.target)).toEqual([...BUILD_TARGETS]);
    expect(() => parseBinaries("linux-riscv64=./x")).toThrow(`targets: ${BUILD_TARGETS.join(", ")}`);
    expect(optionMeta("binary").description).toContain(`(targets: ${BUILD_TARGETS.join(", ")})`);
    expect(isBuildTarget("linux-arm64-musl")).toBe(true);
    expect(isBuildTarget("darwin-arm64")).toBe(false);
  });

  test("the build refuses a target not in the list, naming the list", () => {
    const build = Bun.spawnSync([process.execPath, "build/build.ts", "linux-riscv64"], {
      cwd: `${import.meta.dir}/../..`,
    });
    expect(build.exitCode).toBe(2);
    expect(build.stderr.toString()).toContain(`targets: ${BUILD_TARGETS.join(", ")}`);
  });
});
