// How manifest mistakes are reported: one Issue per mistake, with a path like
// `spec.workers[1].node` and a message a person can act on. Also the small zod helpers every
// resource schema uses so that its mistakes read well: strict objects whose unknown fields are
// named (with a "did you mean"), an error map for zod's generic issues, and "exactly one of".
import { z } from "zod";

/** One mistake in a manifest body. */
export interface Issue {
  /** Which object of the body (0-based): YAML documents in order, items of a list counted one by one. */
  document: number;
  kind?: string;
  name?: string;
  /** Where in the object: keys joined by dots, [i] for list indices; "" for the whole object. */
  path: string;
  message: string;
}

/** A mistake inside one object, before the document is known. */
export interface FieldIssue {
  path: string;
  message: string;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `["spec", "workers", 1, "node"]` → `spec.workers[1].node`; odd keys are quoted: `labels["a.b/c"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && PLAIN_KEY.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Describes a value the way a manifest author sees it, for "got ..." in messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value (null)";
  if (typeof value === "string")
    return value.length > 60 ? `"${value.slice(0, 57)}..."` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") {
    return `${typeof value === "number" ? "the number" : "the boolean"} ${String(value)}`;
  }
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  record: "an object",
};

/** Error map for zod's generic issues; schemas with their own messages take precedence over it. */
export const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type": {
      if (iss.input === undefined) return "required";
      const expected = TYPE_NAMES[iss.expected] ?? iss.expected;
      const got = describeValue(iss.input);
      if (iss.expected === "string" && (typeof iss.input === "number" || typeof iss.input === "boolean")) {
        return `expected a string, got ${got}: quote it, e.g. "${String(iss.input)}"`;
      }
      if (iss.expected === "string" && iss.input === null) {
        return `expected a string, got ${got}: write "" for an empty string`;
      }
      return `expected ${expected}, got ${got}`;
    }
    case "invalid_value":
      return iss.values.length === 1
        ? `expected ${JSON.stringify(iss.values[0])}, got ${describeValue(iss.input)}`
        : `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}; got ${describeValue(iss.input)}`;
    case "too_small":
      return sizeMessage("at least", iss.origin, Number(iss.minimum), iss.inclusive !== false);
    case "too_big":
      return sizeMessage("at most", iss.origin, Number(iss.maximum), iss.inclusive !== false);
    case "unrecognized_keys":
      return iss.keys.map((key) => unknownField(key, [])).join("\n");
    case "invalid_union":
      return `${describeValue(iss.input)} is not allowed here`;
    case "invalid_format":
      return `invalid ${iss.format}: ${describeValue(iss.input)}`;
    default:
      return undefined;
  }
};

function sizeMessage(
  bound: "at least" | "at most",
  origin: string,
  limit: number,
  inclusive: boolean,
): string {
  if (origin === "string") {
    if (bound === "at least" && limit <= 1) return "must not be empty";
    return `must be ${bound} ${limit} characters`;
  }
  if (origin === "array" || origin === "set") {
    if (bound === "at least" && limit <= 1) return "must have at least one entry";
    return `must have ${bound} ${limit} entries`;
  }
  if (!inclusive) return `must be ${bound === "at least" ? "greater" : "less"} than ${limit}`;
  return `must be ${bound} ${limit}`;
}

/** `unknown field "replica" (did you mean "replicas"?)`. */
export function unknownField(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  const allowed = known.length > 0 && known.length <= 12 ? `; allowed: ${known.join(", ")}` : "";
  return `unknown field ${JSON.stringify(key)}${guess ? ` (did you mean "${guess}"?)` : allowed}`;
}

/** The entry of `known` nearest to `key` (a typo: at most a few edits away), or undefined. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A strict object: an unknown field is an error that names it (a typo is never silently dropped). */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === "unrecognized_keys"
        ? iss.keys.map((key) => unknownField(key, known)).join("\n")
        : undefined,
  });
}

/** A superRefine callback: exactly one of `keys` must be set on the object. */
export function exactlyOne(keys: readonly string[], what: string) {
  return (value: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
    const set = keys.filter((key) => value[key] !== undefined);
    if (set.length === 1) return;
    const choices = `${keys.slice(0, -1).join(", ")} or ${keys[keys.length - 1]}`;
    ctx.addIssue({
      code: "custom",
      message:
        set.length === 0
          ? `${what}: set one of ${choices}`
          : `${what}: set only one of ${choices}, not ${set.join(" and ")}`,
      input: value,
    });
  };
}

/** Turns zod's issues into FieldIssues: one per unknown field, nested key issues flattened. */
export function fieldIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const lines = issue.message.split("\n");
      issue.keys.forEach((key, i) => {
        out.push({ path: formatPath([...path, key]), message: lines[i] ?? unknownField(key, []) });
      });
    } else if (issue.code === "invalid_key") {
      const inner = fieldIssues(issue.issues).map((i) => ({ path: formatPath(path), message: i.message }));
      out.push(...(inner.length > 0 ? inner : [{ path: formatPath(path), message: issue.message }]));
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out;
}
