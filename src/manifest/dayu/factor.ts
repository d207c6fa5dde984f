// Per-worker templates → one shared template and per-worker overrides, so that a translated Service
// reads like a hand-written one: a field is shared when every worker has the same value, env
// variable by variable; everything else stays in the worker's override (which replaces a field,
// merges env). Resolving any worker (shared + its override) gives back exactly its template.
import { canonicalJson } from "../canonical.ts";
import type { RawTemplate } from "./native.ts";

export function factorTemplates(templates: readonly RawTemplate[]): {
  shared: RawTemplate;
  overrides: (RawTemplate | undefined)[];
} {
  const shared: Record<string, unknown> = {};
  const fields = new Set(templates.flatMap((t) => Object.keys(t)));
  fields.delete("env");
  for (const field of fields) {
    const values = templates.map((t) => (t as Record<string, unknown>)[field]);
    const first = values[0];
    if (
      first !== undefined &&
      values.every((v) => v !== undefined && canonicalJson(v) === canonicalJson(first))
    )
      shared[field] = first;
  }
  const sharedEnv: Record<string, string> = {};
  const firstEnv = templates[0]?.env ?? {};
  for (const [name, value] of Object.entries(firstEnv)) {
    if (templates.every((t) => t.env !== undefined && Object.hasOwn(t.env, name) && t.env[name] === value))
      sharedEnv[name] = value;
  }
  if (Object.keys(sharedEnv).length > 0) shared.env = sharedEnv;

  const overrides = templates.map((template) => {
    const override: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(template)) {
      if (field === "env" || Object.hasOwn(shared, field)) continue;
      override[field] = value;
    }
    const env = Object.fromEntries(
      Object.entries(template.env ?? {}).filter(([name]) => !Object.hasOwn(sharedEnv, name)),
    );
    if (Object.keys(env).length > 0) override.env = env;
    return Object.keys(override).length > 0 ? (override as RawTemplate) : undefined;
  });
  return { shared: shared as RawTemplate, overrides };
}
