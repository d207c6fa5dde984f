// The difference between two versions of an object's spec (or any JSON), field by field: what a
// dry-run apply answers per object and `levee ctl diff` and `rollout history` print. Objects are
// compared key by key and arrays index by index, so a change deep in a worker template is named by
// its path (`template.env.MODE`), not as a new spec. Pure; both the cloud and the CLI use it.

export type SpecChange =
  | { path: string; op: "added"; after: unknown }
  | { path: string; op: "removed"; before: unknown }
  | { path: string; op: "changed"; before: unknown; after: unknown };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A key as a path segment: `a.b`, or `a["x.y"]` when the key is not a plain word. */
function keyPath(base: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return base === "" ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

/** Every difference from `before` to `after`, in key order; [] when they are equal. */
export function diffSpecs(before: unknown, after: unknown, base = ""): SpecChange[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => {
      const path = keyPath(base, key);
      if (!Object.hasOwn(after, key) || after[key] === undefined) {
        return Object.hasOwn(before, key) && before[key] !== undefined
          ? [{ path, op: "removed" as const, before: before[key] }]
          : [];
      }
      if (!Object.hasOwn(before, key) || before[key] === undefined)
        return [{ path, op: "added" as const, after: after[key] }];
      return diffSpecs(before[key], after[key], path);
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: SpecChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const path = `${base}[${i}]`;
      if (i >= after.length) out.push({ path, op: "removed", before: before[i] });
      else if (i >= before.length) out.push({ path, op: "added", after: after[i] });
      else out.push(...diffSpecs(before[i], after[i], path));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: base, op: "changed", before, after }];
}
