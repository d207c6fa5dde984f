// Factoring per-worker templates into a shared template and overrides: resolving any worker gives
// back exactly its template (property), and what all share is in the shared template.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { factorTemplates } from "../../../src/manifest/dayu/factor.ts";
import type { RawTemplate } from "../../../src/manifest/dayu/native.ts";

const template: fc.Arbitrary<RawTemplate> = fc.record(
  {
    driver: fc.constantFrom("exec" as const, "container" as const),
    image: fc.constantFrom("a:1", "b:1"),
    command: fc.constantFrom(["x"], ["y", "z"]),
    port: fc.constantFrom("auto" as const, 9000),
    portEnv: fc.constant(["GUNICORN_PORT"]),
    agentUrlEnv: fc.constant(["LC_SERVER"]),
    env: fc.dictionary(fc.constantFrom("A", "B", "C", "toString"), fc.constantFrom("1", "2", "")),
    mounts: fc.constantFrom(
      [{ hostPath: { path: "/a" }, target: "/a" }],
      [{ shared: { name: "s" }, target: "/s" }],
    ),
  },
  { requiredKeys: [] },
);

/** What the planner does with a worker entry: shared fields, the override's replacing them, env merged. */
function resolve(shared: RawTemplate, override: RawTemplate | undefined): RawTemplate {
  const out: RawTemplate = { ...shared, ...override };
  const env = { ...shared.env, ...override?.env };
  if (Object.keys(env).length > 0) out.env = env;
  else delete out.env;
  return out;
}

function normal(t: RawTemplate): RawTemplate {
  const out = { ...t };
  if (out.env && Object.keys(out.env).length === 0) delete out.env;
  return out;
}

describe("factorTemplates", () => {
  test("every worker resolves to its own template", () => {
    fc.assert(
      fc.property(fc.array(template, { minLength: 1, maxLength: 6 }), (templates) => {
        const { shared, overrides } = factorTemplates(templates);
        templates.forEach((t, i) => {
          expect(resolve(shared, overrides[i])).toEqual(normal(t));
        });
      }),
      { numRuns: 300 },
    );
  });

  test("the common part is shared, variable by variable; a lone worker needs no override", () => {
    const { shared, overrides } = factorTemplates([
      { driver: "container", image: "a:1", env: { NAMESPACE: "dayu", SOURCE: "0" }, port: "auto" },
      { driver: "container", image: "a:1", env: { NAMESPACE: "dayu", SOURCE: "1" } },
    ]);
    expect(shared).toEqual({ driver: "container", image: "a:1", env: { NAMESPACE: "dayu" } });
    expect(overrides).toEqual([{ port: "auto", env: { SOURCE: "0" } }, { env: { SOURCE: "1" } }]);
    expect(factorTemplates([{ image: "a:1" }]).overrides).toEqual([undefined]);
  });
});
