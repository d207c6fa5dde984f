// The apply query: what apply, apply --dry-run and diff send for their flags.
import { describe, expect, test } from "bun:test";
import { applyQuery } from "../../../src/cli/ctl/apply-query.ts";

describe("applyQuery", () => {
  test("no flags, dry run, staged, both", () => {
    expect(applyQuery({})).toBe("");
    expect(applyQuery({ dryRun: true })).toBe("?dryRun=true");
    expect(applyQuery({ staged: "per-node" })).toBe("?staged=per-node");
    expect(applyQuery({ dryRun: true, staged: "all-nodes" })).toBe("?dryRun=true&staged=all-nodes");
  });

  test("a mode is sent encoded (the cloud names a bad one)", () => {
    expect(applyQuery({ staged: "a b&c" })).toBe("?staged=a+b%26c");
  });
});
