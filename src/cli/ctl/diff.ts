// `levee ctl diff -f FILE|-` and `levee ctl apply --dry-run -f FILE|-`: what applying the file
// would do, as the cloud's own apply computes it (POST /api/v1/apply?dryRun=true runs the apply and
// rolls it back), so it cannot disagree with the apply that follows; nothing is stored. diff prints
// each object's changed fields, apply --dry-run the lines apply would print; both then each node's
// worker changes and a summary (plan-format.ts). -o json|yaml: the API's answer. --staged MODE
// is sent as apply sends it, so the dry run shows the staging the apply would set.

import { UsageError } from "../../runtime/errors.ts";
import { applyQuery } from "./apply-query.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";
import { readManifest, warningLines } from "./manifest-file.ts";
import { type PlanAnswer, renderDiff, renderDryRun } from "./plan-format.ts";
import type { ApplyWarning } from "./types.ts";

async function dryRun(ctx: CtlContext, render: (answer: PlanAnswer) => string): Promise<number> {
  takeArgs(ctx.args, 0);
  const { filename, output } = ctx.options;
  if (!filename) throw new UsageError("missing -f FILE (a YAML or JSON manifest, or - for standard input)");
  const body = await readManifest(filename);
  const answer = await ctx
    .client()
    .request<PlanAnswer & { warnings?: ApplyWarning[] }>(
      "POST",
      `/apply${applyQuery({ dryRun: true, staged: ctx.options.staged })}`,
      body,
    );
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else ctx.out(render(answer));
  process.stderr.write(warningLines(answer.warnings ?? []));
  return 0;
}

export const diff = (ctx: CtlContext): Promise<number> => dryRun(ctx, renderDiff);

export const applyDryRun = (ctx: CtlContext): Promise<number> => dryRun(ctx, renderDryRun);
