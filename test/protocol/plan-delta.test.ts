// Plan deltas: for any two JSON objects, the delta applied to the first gives the second (and
// leaves the first alone); equal plans give no operations; an operation whose path does not lead
// through the base is refused with its index; a member named "__proto__" stays a member.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { applyDelta, diffPlan } from "../../src/protocol/plan-delta.ts";
import { fuzzParameters } from "../fuzz/fuzz-runs.ts";

/** Plans as they travel: through JSON (so -0 is 0, as after any JSON.parse). */
const plan = fc
  .dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 })
  .map((p) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>);

/** Two plans with shared parts, like consecutive revisions. */
const related = fc.tuple(plan, plan, fc.jsonValue({ maxDepth: 3 })).map(([a, extra, v]) => {
  const b: Record<string, unknown> = JSON.parse(JSON.stringify({ ...a, ...extra }));
  const key = Object.keys(b)[0];
  if (key !== undefined) b[key] = v;
  return [a, b] as const;
});

describe("plan delta", () => {
  test("round trip: apply(base, diff(base, next)) deep-equals next, the base unchanged", () => {
    fc.assert(
      fc.property(fc.oneof(related, fc.tuple(plan, plan)), ([a, b]) => {
        const before = JSON.stringify(a);
        const ops = diffPlan(a, b);
        const applied = applyDelta(a, JSON.parse(JSON.stringify(ops)));
        expect(applied.ok).toBe(true);
        if (applied.ok) expect(applied.plan).toEqual(JSON.parse(JSON.stringify(b)));
        expect(JSON.stringify(a)).toBe(before);
      }),
      fuzzParameters(500),
    );
  });

  test("equal plans: no operations; one env var changed: one small operation", () => {
    const base = { services: [{ name: "web", generation: 3, template: { env: { A: "1", B: "2" } } }] };
    expect(diffPlan(base, structuredClone(base))).toEqual([]);
    const next = structuredClone(base);
    (next.services[0] as { template: { env: Record<string, string> } }).template.env.B = "3";
    expect(diffPlan(base, next)).toEqual([[["services", 0, "template", "env", "B"], "3"]]);
  });

  test("members removed and added; arrays of another length set whole", () => {
    const ops = diffPlan({ a: 1, b: [1, 2] }, { b: [1, 2, 3], c: { d: true } });
    expect(ops).toEqual([[["a"]], [["b"], [1, 2, 3]], [["c"], { d: true }]]);
  });

  test("a path the base does not have is refused, naming the operation", () => {
    const result = applyDelta({ a: { b: 1 } }, [
      [["a", "b"], 2],
      [["x", "y"], 1],
    ]);
    expect(result).toEqual({ ok: false, reason: 'operation 1: no ["x"] in the base' });
    expect(applyDelta({ a: [1] }, [[["a", 5], 2]]).ok).toBe(false);
    expect(applyDelta({ a: 1 }, [[["b"]]]).ok).toBe(false);
  });

  test('"__proto__" is a member like any other', () => {
    const next = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const result = applyDelta({}, diffPlan({}, next));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.getPrototypeOf(result.plan)).toBe(Object.prototype);
    expect(Object.hasOwn(result.plan, "__proto__")).toBe(true);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
