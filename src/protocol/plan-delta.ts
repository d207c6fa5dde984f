// A plan as the changes from another (docs/PROTOCOL.md, "Packed plans"): what the cloud sends a
// node instead of its whole plan when the node has the base and the changes are smaller. A delta
// is a list of operations, each a path of keys (object members) and indexes (array elements)
// and, for a set, the new value: [path, value] sets, [path] deletes. Objects are compared member
// by member and arrays of the same length element by element; anything else that differs is set
// whole. Pure: applyDelta never changes the base, and refuses (with the reason) an operation
// whose path does not lead through the base, so a delta against another base cannot half-apply.
import { z } from "zod";

export type PathStep = string | number;
/** [path, value]: set; [path]: delete (objects only). */
export type DeltaOp = [PathStep[], unknown] | [PathStep[]];

/** Bounds on what a node accepts (the message is bounded too: this bounds the walk). */
export const MAX_DELTA_OPS = 10_000;
export const MAX_PATH_STEPS = 64;

const step = z.union([z.string().max(1024), z.number().int().min(0).max(1_000_000)]);
const path = z.array(step).min(1).max(MAX_PATH_STEPS);
export const deltaSchema = z
  .array(z.union([z.tuple([path, z.unknown()]), z.tuple([path])]))
  .max(MAX_DELTA_OPS);

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function equal(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => equal(v, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return false;
}

/** The operations that turn `base` into `next` (both JSON values; [] when equal). */
export function diffPlan(base: Record<string, Json>, next: Record<string, Json>): DeltaOp[] {
  const ops: DeltaOp[] = [];
  walk(base, next, [], ops);
  return ops;
}

function walk(a: Json, b: Json, at: PathStep[], ops: DeltaOp[]): void {
  if (equal(a, b)) return;
  if (isObject(a) && isObject(b) && at.length < MAX_PATH_STEPS) {
    for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) ops.push([[...at, k]]);
    for (const k of Object.keys(b)) {
      if (Object.hasOwn(a, k)) walk(a[k], b[k], [...at, k], ops);
      else ops.push([[...at, k], b[k]]);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && at.length < MAX_PATH_STEPS) {
    for (let i = 0; i < a.length; i++) walk(a[i], b[i], [...at, i], ops);
    return;
  }
  // The root is always an object (a plan), so `at` is never empty here.
  ops.push([at, b]);
}

export type ApplyResult = { ok: true; plan: Record<string, Json> } | { ok: false; reason: string };

/** `base` with the operations applied (a copy), or why they do not apply to it. */
export function applyDelta(base: Record<string, Json>, ops: readonly DeltaOp[]): ApplyResult {
  const plan = structuredClone(base);
  for (const [i, op] of ops.entries()) {
    const problem = applyOne(plan, op);
    if (problem) return { ok: false, reason: `operation ${i}: ${problem}` };
  }
  return { ok: true, plan };
}

function applyOne(root: Record<string, Json>, op: DeltaOp): string | undefined {
  const [steps] = op;
  let parent: Json = root;
  for (let i = 0; i < steps.length - 1; i++) {
    const s = steps[i] as PathStep;
    const child = childOf(parent, s);
    if (child === undefined) return `no ${JSON.stringify(steps.slice(0, i + 1))} in the base`;
    parent = child;
  }
  const last = steps[steps.length - 1] as PathStep;
  if (op.length === 1) {
    if (!isObject(parent) || typeof last !== "string" || !Object.hasOwn(parent, last))
      return `nothing to delete at ${JSON.stringify(steps)}`;
    delete parent[last];
    return undefined;
  }
  const value = op[1];
  if (isObject(parent) && typeof last === "string") {
    // Defined, not assigned: a member named "__proto__" stays a member.
    Object.defineProperty(parent, last, { value, writable: true, enumerable: true, configurable: true });
    return undefined;
  }
  if (Array.isArray(parent) && typeof last === "number" && last < parent.length) {
    parent[last] = value;
    return undefined;
  }
  return `cannot set ${JSON.stringify(steps)} in the base`;
}

function childOf(parent: Json, s: PathStep): Json | undefined {
  if (isObject(parent) && typeof s === "string") return Object.hasOwn(parent, s) ? parent[s] : undefined;
  if (Array.isArray(parent) && typeof s === "number") return s < parent.length ? parent[s] : undefined;
  return undefined;
}
