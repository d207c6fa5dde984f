// `levee ctl apply -f FILE|-`: sends the manifest file (YAML or JSON, one or more objects) as it
// is to POST /api/v1/apply, which applies all of it or nothing, and prints `service/echo created`
// per object. With --wait it then follows the rollout (see wait.ts) until done or --timeout; its
// progress goes to stderr when -o json or yaml asks for a machine-readable stdout. With --dry-run
// it only says what it would do (diff.ts). With --staged MODE the Services of the file that choose
// no staging are staged (spec.rollout.staging) by the cloud.
import { parseDuration } from "../../manifest/duration.ts";
import { UsageError } from "../../runtime/errors.ts";
import { applyQuery } from "./apply-query.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { applyDryRun } from "./diff.ts";
import { applyLines, toJson, toYaml } from "./format.ts";
import { objectRef } from "./kinds.ts";
import { readManifest, warningLines } from "./manifest-file.ts";
import type { ApplyResult, ApplyWarning } from "./types.ts";
import { revisionSnapshot, waitForRollout } from "./wait.ts";

export async function apply(ctx: CtlContext): Promise<number> {
  if (ctx.options.dryRun) return applyDryRun(ctx);
  takeArgs(ctx.args, 0);
  const { filename, wait, output } = ctx.options;
  if (!filename) throw new UsageError("missing -f FILE (a YAML or JSON manifest, or - for standard input)");
  let timeoutMs = 0;
  if (wait) {
    const parsed = parseDuration(ctx.options.timeout);
    if (!parsed.ok) throw new UsageError(`flag --timeout: ${parsed.message}`);
    timeoutMs = parsed.ms;
  }
  const body = await readManifest(filename);
  const client = ctx.client();
  const before = wait ? await revisionSnapshot(client) : undefined;
  const answer = await client.request<{ results: ApplyResult[]; warnings?: ApplyWarning[] }>(
    "POST",
    `/apply${applyQuery({ staged: ctx.options.staged })}`,
    body,
  );
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else ctx.out(applyLines(answer.results.map(withOwner)));
  // What a Dayu object's translation does not honour (docs/DAYU.md).
  process.stderr.write(warningLines(answer.warnings ?? []));
  if (!wait) return 0;
  const services = new Set(answer.results.filter((r) => r.kind === "Service").map((r) => r.name));
  // Progress is for people: with -o json or yaml, stdout stays that format alone (pipe it to jq).
  const progress = output === "table" ? ctx.out : (text: string) => void process.stderr.write(text);
  return waitForRollout(client, services, before, timeoutMs, progress);
}

/** `service/controller created (from jointmultiedgeservice/controller)`. */
function withOwner(result: ApplyResult): ApplyResult | { kind: string; name: string; outcome: string } {
  if (!result.owner) return result;
  return {
    ...result,
    outcome: `${result.outcome} (from ${objectRef(result.owner.kind, result.owner.name)})`,
  };
}
