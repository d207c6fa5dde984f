// Label and field selectors as Kubernetes parses them (`labelSelector=a=b,c!=d,e in (x,y),!f`,
// `fieldSelector=spec.nodeName=edge1,status.phase!=Running`), checked before use: a malformed one
// is a BadRequest naming it. Written by hand: the grammar is small and no npm package implements
// it faithfully. Pure.
import { KubeError } from "./status.ts";

type LabelTerm =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "!exists"; key: string };

export type LabelSelector = (labels: Readonly<Record<string, string>>) => boolean;

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_SELECTOR = 4096;

/** Splits on commas outside parentheses. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function bad(kind: string, selector: string, why: string): KubeError {
  return new KubeError("BadRequest", `unable to parse requirement: ${kind} "${selector}": ${why}`);
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw bad("labelSelector", selector, `invalid label key "${key}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (value.length > 63 || !VALUE.test(value))
    throw bad("labelSelector", selector, `invalid label value "${value}"`);
  return value;
}

export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === "") return () => true;
  if (text.length > MAX_SELECTOR)
    throw bad("labelSelector", text.slice(0, 64), "longer than 4096 characters");
  const parsed: LabelTerm[] = terms(text).map((term) => {
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = (set[3] ?? "").split(",").map((v) => checkValue(v.trim(), text));
      return { op: set[2] as "in" | "notin", key: checkKey(set[1] ?? "", text), values };
    }
    const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (cmp) {
      const op = cmp[2] === "!=" ? "!=" : "=";
      return { op, key: checkKey(cmp[1] ?? "", text), value: checkValue(cmp[3] ?? "", text) };
    }
    if (term.startsWith("!")) return { op: "!exists", key: checkKey(term.slice(1).trim(), text) };
    return { op: "exists", key: checkKey(term, text) };
  });
  return (labels) =>
    parsed.every((t) => {
      const has = Object.hasOwn(labels, t.key);
      const value = labels[t.key];
      switch (t.op) {
        case "=":
          return has && value === t.value;
        case "!=":
          return !has || value !== t.value;
        case "in":
          return has && t.values.includes(value as string);
        case "notin":
          return !has || !t.values.includes(value as string);
        case "exists":
          return has;
        case "!exists":
          return !has;
        default:
          return false;
      }
    });
}

export type FieldSelector = (fields: Readonly<Record<string, string>>) => boolean;

/**
 * A field selector over the fields `supported` (per resource, as Kubernetes supports them; e.g.
 * pods: metadata.name, metadata.namespace, spec.nodeName, status.phase). `spec.nodeName!=null`
 * compares with the text "null", as Kubernetes does.
 */
export function parseFieldSelector(text: string | undefined, supported: readonly string[]): FieldSelector {
  if (text === undefined || text.trim() === "") return () => true;
  if (text.length > MAX_SELECTOR)
    throw bad("fieldSelector", text.slice(0, 64), "longer than 4096 characters");
  const parsed = terms(text).map((term) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw bad("fieldSelector", text, `"${term}" is not field=value or field!=value`);
    const field = m[1] as string;
    if (!supported.includes(field))
      throw new KubeError(
        "BadRequest",
        `field label not supported: ${field} (supported: ${supported.join(", ")})`,
      );
    return { field, negate: m[2] === "!=", value: (m[3] ?? "").trim() };
  });
  return (fields) => parsed.every((t) => (fields[t.field] === t.value) !== t.negate);
}
