// Translation of a Dayu object (JointMultiEdgeService, RuntimeService) into native manifests, with
// its warnings and issues. Pure: the image rules and the mesh port come from the caller (the cloud:
// stored ImageMaps and its port allocations; `levee ctl convert`: the file and a local count). The
// result is checked against the Service schema, so what is stored is what `convert` prints.
import { errorMap, type FieldIssue, fieldIssues } from "../issues.ts";
import { serviceSchema } from "../service.ts";
import type { RawService } from "./native.ts";
import type { DayuResource } from "./sedna-schema.ts";
import type { TranslateContext } from "./translate-context.ts";
import { translateJmes } from "./translate-jmes.ts";
import { translateRuntime } from "./translate-runtime.ts";
import { Report, type Warning } from "./warnings.ts";

export type { TranslateContext } from "./translate-context.ts";

export interface Translation {
  /** The native objects it stands for (none when there are issues). */
  services: RawService[];
  warnings: Warning[];
  issues: FieldIssue[];
  /** The issues with list paths (for zod). */
  rawIssues: Report["rawIssues"];
}

export function translateDayu(object: DayuResource, ctx: TranslateContext): Translation {
  const report = new Report();
  const service =
    object.kind === "JointMultiEdgeService"
      ? translateJmes(object, ctx, report)
      : translateRuntime(object, ctx, report);
  if (service && report.rawIssues.length === 0) {
    const check = serviceSchema.safeParse(service, { error: errorMap });
    if (!check.success) {
      for (const issue of fieldIssues(check.error.issues)) {
        report.issue([], `the Service levee makes of it would be invalid: ${issue.path}: ${issue.message}`);
      }
    }
  }
  const ok = service !== undefined && report.rawIssues.length === 0;
  return {
    services: ok ? [service] : [],
    warnings: report.warnings,
    issues: report.issues,
    rawIssues: report.rawIssues,
  };
}

/** A context for checking a manifest alone: no image rules, every service on a placeholder port. */
export const CHECK_CONTEXT: TranslateContext = {
  rules: [],
  meshPort: (_service, requested) => requested ?? 30000,
};
