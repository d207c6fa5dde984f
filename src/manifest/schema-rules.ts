// The cross-field rules of the manifest schemas, written as JSON Schema so that the exported
// schema (`levee ctl schema KIND`, editors) refuses what apply refuses. zod checks these rules in
// `.superRefine` callbacks, which its JSON Schema generator cannot see; each schema attaches the
// matching fragment here with `.meta()`, which the generator copies into its output. The messages
// stay zod's (apply names each field); these fragments only make the exported schema as strict.

type Fragment = Record<string, unknown>;

/** Exactly one of `keys` is present: `oneOf` of one `required` each. */
export function exactlyOneOf(keys: readonly string[]): Fragment {
  return { oneOf: keys.map((key) => ({ required: [key] })) };
}

/** An object with `field` present whose value satisfies `schema`. */
function has(field: string, schema: Fragment = {}): Fragment {
  return { required: [field], properties: { [field]: schema } };
}

/** JSON Schema's if/then (an object with a `then` key, which is no promise). */
function ifThen(condition: Fragment, consequence: Fragment): Fragment {
  // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword
  return { if: condition, then: consequence };
}

const setsDriver = (driver: string): Fragment => has("driver", { const: driver });

type Driver = "exec" | "container";

/** The shared template (the spec's `template`) runs `driver`: exec is the default. */
function sharedRuns(driver: Driver): Fragment {
  const container = has("template", setsDriver("container"));
  return driver === "container" ? container : { not: container };
}

const sharedHas = (field: string): Fragment => has("template", { required: [field] });
const overrideHas = (field: string): Fragment => has("template", { required: [field] });
const overrideSets = (driver: Driver): Fragment => has("template", setsDriver(driver));
const eachWorker = (rule: Fragment): Fragment => ({ properties: { workers: { items: rule } } });

/**
 * On a Service's spec: every worker whose resolved template (the shared `template` with the
 * worker's `template` override, service.ts) runs `driver` sets `field` somewhere. A field set in
 * the shared template is inherited by every worker (an override cannot unset it); a driver comes
 * from the override, else the shared template, else exec. The rules, for an `allOf`.
 */
export function resolvedTemplateNeeds(driver: Driver, other: Driver, field: string): Fragment[] {
  const sharedLacks = { not: sharedHas(field) };
  return [
    // Shared template runs `driver` without the field: each worker sets it or another driver.
    ifThen(
      { allOf: [sharedRuns(driver), sharedLacks] },
      eachWorker({ anyOf: [overrideHas(field), overrideSets(other)] }),
    ),
    // Shared template runs the other driver: a worker that switches to `driver` sets the field.
    ifThen(
      { allOf: [sharedRuns(other), sharedLacks] },
      eachWorker(ifThen(overrideSets(driver), overrideHas(field))),
    ),
  ];
}

/**
 * On a Service's spec: no worker whose resolved template runs `driver` has `field` (set in the
 * shared template or its override), e.g. an image for an exec worker. The rules, for an `allOf`.
 */
export function resolvedTemplateForbids(driver: Driver, other: Driver, field: string): Fragment[] {
  return [
    // The shared field reaches every worker: those must not run `driver`.
    ifThen({ allOf: [sharedRuns(driver), sharedHas(field)] }, eachWorker(overrideSets(other))),
    ifThen({ allOf: [sharedRuns(other), sharedHas(field)] }, eachWorker({ not: overrideSets(driver) })),
    // A worker's own field: that worker must not run `driver`.
    ifThen(sharedRuns(driver), eachWorker(ifThen(overrideHas(field), overrideSets(other)))),
    ifThen(sharedRuns(other), eachWorker(ifThen(overrideHas(field), { not: overrideSets(driver) }))),
  ];
}
