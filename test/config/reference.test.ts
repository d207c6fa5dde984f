// The configuration reference in README.md is generated from the schema; this fails when it drifts.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { withReference } from "../../src/config/reference.ts";
import { flagName, optionKeys } from "../../src/config/schema.ts";

test("README.md's configuration reference matches the option schema (fix: bun build/gen-docs.ts)", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
  expect(readme).toBe(withReference(readme));
  for (const key of optionKeys) expect(readme).toContain(`--${flagName(key)}`);
});
