// The two patch formats clients send for custom resources: JSON merge patch (RFC 7386: objects
// merge, null deletes, anything else replaces) and JSON patch (RFC 6902: add, remove, replace,
// move, copy, test at JSON pointers). A patch that does not apply is an Invalid or a Conflict (a
// failed test), never a half-changed object: both work on a copy. Written by hand: a few dozen
// lines, where the npm packages carry their own JSON pointer and error conventions. Pure.
import { KubeError } from "./status.ts";

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function pointer(path: unknown): string[] {
  if (typeof path !== "string" || (path !== "" && !path.startsWith("/")))
    throw new KubeError("BadRequest", `json patch: path ${JSON.stringify(path)} is not a JSON pointer`);
  return path === ""
    ? []
    : path
        .slice(1)
        .split("/")
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: Json, parts: string[], op: string): { parent: Json; key: string } {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined)
      throw new KubeError("Invalid", `json patch ${op}: /${parts.join("/")} has no parent`);
  }
  return { parent: node, key: parts[parts.length - 1] ?? "" };
}

function get(doc: Json, parts: string[]): Json {
  let node = doc;
  for (const part of parts)
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
  return node;
}

export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations))
    throw new KubeError("BadRequest", "json patch: the body must be a list of operations");
  let doc = structuredClone(target);
  for (const raw of operations) {
    if (!isObject(raw)) throw new KubeError("BadRequest", "json patch: every operation is an object");
    const op = String(raw.op);
    const parts = pointer(raw.path);
    const put = (at: string[], value: Json, insert: boolean) => {
      if (at.length === 0) {
        doc = value;
        return;
      }
      const { parent, key } = parentOf(doc, at, op);
      if (Array.isArray(parent)) {
        const i = key === "-" ? parent.length : Number(key);
        if (!Number.isInteger(i) || i < 0 || i > parent.length)
          throw new KubeError("Invalid", `json patch ${op}: index ${key} out of range`);
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else if (isObject(parent)) parent[key] = value;
      else throw new KubeError("Invalid", `json patch ${op}: /${at.join("/")} is inside a value`);
    };
    const remove = (at: string[]) => {
      const { parent, key } = parentOf(doc, at, op);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else if (isObject(parent) && Object.hasOwn(parent, key)) delete parent[key];
      else throw new KubeError("Invalid", `json patch ${op}: /${at.join("/")} does not exist`);
    };
    switch (op) {
      case "add":
        put(parts, structuredClone(raw.value), true);
        break;
      case "replace":
        if (get(doc, parts) === undefined)
          throw new KubeError("Invalid", `json patch replace: ${String(raw.path)} does not exist`);
        put(parts, structuredClone(raw.value), false);
        break;
      case "remove":
        remove(parts);
        break;
      case "move":
      case "copy": {
        const from = pointer(raw.from);
        const value = structuredClone(get(doc, from));
        if (value === undefined)
          throw new KubeError("Invalid", `json patch ${op}: ${String(raw.from)} does not exist`);
        if (op === "move") remove(from);
        put(parts, value, true);
        break;
      }
      case "test":
        if (JSON.stringify(get(doc, parts)) !== JSON.stringify(raw.value))
          throw new KubeError("Conflict", `json patch test failed at ${String(raw.path)}`);
        break;
      default:
        throw new KubeError("BadRequest", `json patch: unknown op ${JSON.stringify(op)}`);
    }
  }
  return doc;
}
