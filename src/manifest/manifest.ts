// Manifest bodies → validated objects. parseManifests() is what `POST /api/v1/apply` and
// `levee ctl apply` call: it reads YAML or JSON with any number of objects, checks each against
// the schema of its kind, and either returns all objects or every mistake in every document,
// each with its document number, path (`spec.workers[1].node`) and message. Nothing is partial.
import { isRecord, loadDocuments, type RawDocument } from "./documents.ts";
import { describeValue, errorMap, type FieldIssue, fieldIssues, formatPath, type Issue } from "./issues.ts";
import { type ManifestKind, manifestKinds, type Resource } from "./kinds.ts";
import { keyOf } from "./namespace.ts";

export type { Issue } from "./issues.ts";
export {
  type AnyKindInfo,
  type KindInfo,
  kindInfo,
  kindList,
  kinds,
  type Resource,
  type ResourceKind,
  specOf,
} from "./kinds.ts";

export type ParseResult = { ok: true; objects: Resource[] } | { ok: false; issues: Issue[] };
export type ObjectResult = { ok: true; objects: Resource[] } | { ok: false; issues: FieldIssue[] };

/** Parses and validates a body of manifests (YAML or JSON); `contentType` picks the format. */
export function parseManifests(body: string, contentType?: string): ParseResult {
  return validateDocuments(loadDocuments(body, contentType));
}

/** Validates the documents of a body already read (loadDocuments), as parseManifests does. */
export function validateDocuments(documents: readonly RawDocument[]): ParseResult {
  if (documents.length === 0) {
    const message =
      "the body holds no objects: expected YAML or JSON objects with apiVersion, kind and metadata";
    return { ok: false, issues: [{ document: 0, path: "", message }] };
  }
  const issues: Issue[] = [];
  const objects: Resource[] = [];
  const seen = new Map<string, number>();
  documents.forEach((doc, document) => {
    if (doc.errors) {
      for (const message of doc.errors) issues.push({ document, path: "", message });
      return;
    }
    const ids = identify(doc.value);
    const result = parseObject(doc.value);
    if (!result.ok) {
      for (const issue of result.issues) issues.push({ document, ...ids, ...issue });
      return;
    }
    for (const object of result.objects) {
      const key = `${object.kind}/${keyOf(object)}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, document);
      else {
        issues.push({
          document,
          kind: object.kind,
          name: object.metadata.name,
          path: "metadata.name",
          message: `${object.kind} "${object.metadata.name}" is also defined in document ${first}: each object may appear once`,
        });
      }
      objects.push(object);
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, objects };
}

/** Validates one object (already read from YAML or JSON) against the schema of its kind. */
export function parseObject(value: unknown): ObjectResult {
  if (!isRecord(value)) {
    const message = "expected an object with apiVersion, kind and metadata";
    return { ok: false, issues: [{ path: "", message: `${message}, got ${describeValue(value)}` }] };
  }
  const found = findKind(value);
  if (!found.ok) return found;
  const result = found.kind.schema.safeParse(value, { error: errorMap });
  const proto = protoKeys(value, []);
  if (!result.success || proto.length > 0) {
    const issues = result.error ? fieldIssues(result.error.issues) : [];
    const reported = new Set(issues.map((issue) => issue.path));
    return { ok: false, issues: [...issues, ...proto.filter((issue) => !reported.has(issue.path))] };
  }
  return { ok: true, objects: found.kind.toResources(result.data) };
}

const known = () => manifestKinds.map((k) => `${k.kind} (${k.apiVersion})`).join(", ");

function findKind(
  value: Record<string, unknown>,
): { ok: true; kind: ManifestKind } | { ok: false; issues: FieldIssue[] } {
  const { apiVersion, kind } = value;
  const exact = manifestKinds.find((k) => k.apiVersion === apiVersion && k.kind === kind);
  if (exact) return { ok: true, kind: exact };

  const issues: FieldIssue[] = [];
  const sameKind = manifestKinds.filter((k) => k.kind === kind);
  if (typeof kind !== "string") {
    const got = kind === undefined ? "required" : `expected a string, got ${describeValue(kind)}`;
    issues.push({ path: "kind", message: `${got}: one of ${known()}` });
  } else if (sameKind.length === 0) {
    const near = manifestKinds.find((k) => k.kind.toLowerCase() === kind.toLowerCase());
    const hint = near ? ` (did you mean "${near.kind}"?)` : "";
    issues.push({
      path: "kind",
      message: `unknown kind ${JSON.stringify(kind)}${hint}: known kinds are ${known()}`,
    });
  }
  const versions = [...new Set((sameKind.length > 0 ? sameKind : manifestKinds).map((k) => k.apiVersion))];
  const expected = versions.map((v) => JSON.stringify(v)).join(" or ");
  const forKind = sameKind.length > 0 ? ` for kind ${kind}` : "";
  if (apiVersion === undefined) {
    issues.push({ path: "apiVersion", message: `required: ${expected}${forKind}` });
  } else if (!versions.includes(apiVersion as string)) {
    issues.push({
      path: "apiVersion",
      message: `unknown apiVersion ${describeValue(apiVersion)}${forKind}: expected ${expected}`,
    });
  }
  return { ok: false, issues };
}

/** The kind and name of a raw object, when they are strings: they label its issues. */
function identify(value: unknown): { kind?: string; name?: string } {
  if (!isRecord(value)) return {};
  const ids: { kind?: string; name?: string } = {};
  if (typeof value.kind === "string") ids.kind = value.kind;
  if (isRecord(value.metadata) && typeof value.metadata.name === "string") ids.name = value.metadata.name;
  return ids;
}

/**
 * Own "__proto__" keys anywhere in a raw object. zod leaves them out of records without a word
 * (assigning one would replace a prototype), so an env variable or a file of that name would
 * silently vanish; they are refused instead.
 */
function protoKeys(value: unknown, path: PropertyKey[]): FieldIssue[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => protoKeys(item, [...path, i]));
  if (!isRecord(value)) return [];
  const out: FieldIssue[] = [];
  for (const key of Object.keys(value)) {
    if (key === "__proto__")
      out.push({ path: formatPath([...path, key]), message: 'the key "__proto__" is not allowed' });
    else out.push(...protoKeys(value[key], [...path, key]));
  }
  return out;
}
