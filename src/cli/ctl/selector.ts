// Label selectors of `levee ctl get -l`, as kubectl writes them (equality-based): `role=camera`,
// `role==camera`, `zone!=b`, `gpu` (the key is set), `!test` (it is not), joined by commas, all of
// which must hold. Parsed once (a mistake is a usage error naming the part), then matched against
// each object's metadata.labels.
import { UsageError } from "../../runtime/errors.ts";

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "exists" | "!exists" };

const KEY = /^([A-Za-z0-9][-A-Za-z0-9_.]*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function parseSelector(text: string): Requirement[] {
  return text.split(",").map((raw) => {
    const part = raw.trim();
    const bad = (why: string) => new UsageError(`flag --selector: ${JSON.stringify(part)}: ${why}`);
    const m = /^([^=!]*)(==|=|!=)(.*)$/.exec(part);
    if (m) {
      const [, key = "", op, value = ""] = m;
      if (!KEY.test(key.trim())) throw bad("expected a label key before the operator");
      if (!VALUE.test(value.trim())) throw bad("expected a label value after the operator");
      return { key: key.trim(), op: op === "!=" ? "!=" : "=", value: value.trim() };
    }
    const negated = part.startsWith("!");
    const key = negated ? part.slice(1).trim() : part;
    if (!KEY.test(key)) throw bad("expected key=value, key!=value, key or !key");
    return { key, op: negated ? "!exists" : "exists" };
  });
}

export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  selector: readonly Requirement[],
): boolean {
  const has = (key: string) => labels !== undefined && Object.hasOwn(labels, key);
  return selector.every((r) => {
    if (!("value" in r)) return has(r.key) === (r.op === "exists");
    const equal = has(r.key) && labels?.[r.key] === r.value;
    return r.op === "=" ? equal : !equal;
  });
}
