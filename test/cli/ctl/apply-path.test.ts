// The apply path's query: what apply, apply --dry-run and diff send for their flags.
import { describe, expect, test } from "bun:test";
import { applyPath } from "../../../src/cli/ctl/apply-path.ts";

describe("applyPath", () => {
  test("no flags, dry run, staged, both", () => {
    expect(applyPath({})).toBe("/apply");
    expect(applyPath({ dryRun: true })).toBe("/apply?dryRun=true");
    expect(applyPath({ staged: "per-node" })).toBe("/apply?staged=per-node");
    expect(applyPath({ dryRun: true, staged: "all-nodes" })).toBe("/apply?dryRun=true&staged=all-nodes");
  });

  test("a mode is sent encoded (the cloud names a bad one)", () => {
    expect(applyPath({ staged: "a b&c" })).toBe("/apply?staged=a+b%26c");
  });
});
