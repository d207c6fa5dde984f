// Splits a manifest body into the raw objects it holds. YAML (several documents separated by
// `---`) or JSON (one object, an array, or {"kind": "List", "items": [...]}); a YAML document may
// also be a list or a List. Every object is counted as one document, in order. Syntax errors are
// kept per document (with line and column) so that the other documents are still checked. A body
// nesting deeper than MAX_NESTING_DEPTH is refused before any object is built (bounded-yaml.ts).
import type { LineCounter as LineCounterType } from "yaml";
import { MAX_NESTING_DEPTH, scanJsonNesting, tooDeepMessage } from "../runtime/bounded-json.ts";
import { describeError } from "../runtime/errors.ts";
import { parseYamlWithin } from "./bounded-yaml.ts";

/** One object of a body, or the syntax errors of a document that could not be read. */
export type RawDocument = { value: unknown; errors?: undefined } | { value?: undefined; errors: string[] };

const JSON_TYPES = /^application\/(?:[\w.+-]*\+)?json$/;
const YAML_TYPES = /^(?:application|text)\/(?:x-)?(?:[\w.+-]*\+)?yaml$/;

/** Reads a body as JSON or YAML: by its content type, or by its first character when there is none. */
export function loadDocuments(body: string, contentType?: string): RawDocument[] {
  const text = body.startsWith("\uFEFF") ? body.slice(1) : body;
  const type = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  const looksJson = /^\s*[[{]/.test(text);
  const jsonType = JSON_TYPES.test(type);
  if (jsonType || (!YAML_TYPES.test(type) && looksJson)) {
    const nesting = scanJsonNesting(text, MAX_NESTING_DEPTH);
    // Without a JSON content type it may be YAML: the YAML reading locates the depth exactly.
    if (!nesting.ok) return jsonType ? [{ errors: [tooDeep(nesting)] }] : loadYaml(text);
    try {
      return flatten(JSON.parse(text));
    } catch (err) {
      // Not JSON. Without a JSON content type it may still be YAML (flow style); with one, the
      // YAML parser only serves to locate the mistake.
      if (!jsonType) return loadYaml(text);
      const located = loadYaml(text).flatMap((doc) => doc.errors ?? []);
      const where = located[0] ? ` (YAML reading: ${located[0]})` : "";
      return [{ errors: [`JSON syntax error: ${describeError(err)}${where}`] }];
    }
  }
  return loadYaml(text);
}

function loadYaml(text: string): RawDocument[] {
  // Required here, not imported at the top: the yaml parser costs ~1.5 MB of memory, and an
  // agent that never reads a manifest should not pay for it (see src/config/load.ts).
  const { isScalar, LineCounter } = require("yaml") as typeof import("yaml");
  const lineCounter: LineCounterType = new LineCounter();
  const { documents, tooDeep: deep } = parseYamlWithin(text, lineCounter, {
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
  });
  const out: RawDocument[] = [];
  for (const doc of documents) {
    if (doc.errors.length > 0) {
      out.push({
        errors: doc.errors.map((error) => {
          const { line, col } = lineCounter.linePos(error.pos[0]);
          return `YAML syntax error at line ${line}, column ${col}: ${firstLine(error.message)}`;
        }),
      });
      continue;
    }
    // An empty document (only comments, or a stray `---`); an explicit `null` is not skipped.
    const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.source === "");
    if (empty) continue;
    try {
      out.push(...flatten(doc.toJS({ maxAliasCount: 100 })));
    } catch (err) {
      const at = doc.range ? lineCounter.linePos(doc.range[0]) : undefined;
      const where = at ? ` in the document at line ${at.line}` : "";
      out.push({ errors: [`YAML error${where}: ${firstLine(describeError(err))}`] });
    }
  }
  if (deep) out.push({ errors: [tooDeep(deep)] });
  return out;
}

/** "the manifest nests deeper than 64 levels (at line 1, column 65)" */
function tooDeep(at: { line: number; column: number }): string {
  return tooDeepMessage("the manifest", MAX_NESTING_DEPTH, at);
}

/** An array or a List stands for its items; anything else is one object. */
function flatten(value: unknown): RawDocument[] {
  if (Array.isArray(value)) return value.map((item) => ({ value: item }));
  if (isRecord(value) && value.kind === "List") {
    if (!Array.isArray(value.items)) return [{ errors: ['a List needs "items": a list of objects'] }];
    return value.items.map((item) => ({ value: item }));
  }
  return [{ value }];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
