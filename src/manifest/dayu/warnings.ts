// What a translation of a Dayu manifest reports besides its result: warnings (a field levee does not
// honour, said once per field with the reason, never dropped without a word) and issues (the
// manifest cannot run as written: the apply is refused). Both carry the path in the Sedna object,
// e.g. `spec.edgeWorker[1].template.spec.containers[0].resources`.
import type { FieldIssue } from "../issues.ts";
import { formatPath } from "../issues.ts";

export interface Warning {
  path: string;
  message: string;
}

export type Path = readonly (string | number)[];

/** Collects warnings and issues; the same warning at several list positions is said once. */
export class Report {
  /** The issues with their paths as lists (zod wants them so). */
  readonly rawIssues: { path: Path; message: string }[] = [];
  private readonly warned = new Map<string, { warning: Warning; more: number }>();

  warn(path: Path, message: string): void {
    // One warning per field and message: spec.edgeWorker[3].x repeats spec.edgeWorker[0].x (and
    // spec.cloudWorker.x, the same field of another pod).
    const field = path
      .filter((p) => typeof p === "string")
      .map((p) => (p === "cloudWorker" ? "edgeWorker" : p));
    const key = `${field.join(".")}\0${message}`;
    const seen = this.warned.get(key);
    if (seen) seen.more += 1;
    else this.warned.set(key, { warning: { path: formatPath(path), message }, more: 0 });
  }

  issue(path: Path, message: string): void {
    this.rawIssues.push({ path, message });
  }

  get issues(): FieldIssue[] {
    return this.rawIssues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  }

  /** Every field of `value` not in `known` is a warning ("not supported by levee; ignored"). */
  unknownFields(
    value: object,
    known: readonly string[],
    path: Path,
    reasons: Readonly<Record<string, string>> = {},
  ): void {
    for (const [key, field] of Object.entries(value)) {
      if (known.includes(key) || field === undefined || field === null) continue;
      const reason = Object.hasOwn(reasons, key) ? reasons[key] : undefined;
      this.warn([...path, key], reason ?? "not supported by levee; ignored");
    }
  }

  get warnings(): Warning[] {
    return [...this.warned.values()].map(({ warning, more }) =>
      more === 0
        ? warning
        : { ...warning, message: `${warning.message} (also in ${more} more place${more === 1 ? "" : "s"})` },
    );
  }
}
