// `levee ctl rollout history KIND/NAME` and `levee ctl rollout undo KIND/NAME [--to-generation N]
// [--dry-run]` for Services and Dayu objects (service/web, jmes/detector, rts/x; or KIND NAME):
// the generations the cloud kept (newest first, what each changed) and rolling back to one, which
// the cloud applies as a new generation (its answer printed as apply's, with each node's workers).

import type { SpecChange } from "../../manifest/spec-diff.ts";
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, namespaceQuery } from "./context.ts";
import { age, applyLines, renderTable, toJson, toYaml } from "./format.ts";
import { type KindInfo, kindArgument } from "./kinds.ts";
import { nodeLines, type PlanAnswer, renderDryRun, summaryLine } from "./plan-format.ts";

const ROLLOUT_KINDS = new Set(["Service", "JointMultiEdgeService", "RuntimeService"]);

interface HistoryAnswer {
  generation: number;
  items: { generation: number; appliedAt: string; current: boolean; changes?: SpecChange[] }[];
}

/** `service/web`, or `service web`: the kind and the name. */
export function rolloutTarget(args: readonly string[]): { info: KindInfo; name: string } {
  const [first, second, ...rest] = args;
  if (rest.length > 0 || (first?.includes("/") && second !== undefined))
    throw new UsageError(`unexpected argument "${rest[0] ?? second}"`);
  const [word, name] = first?.includes("/") ? first.split("/", 2) : [first, second];
  const info = kindArgument(word, (k) => ROLLOUT_KINDS.has(k.kind));
  if (!name) throw new UsageError(`missing NAME: ${info.singular}/NAME`);
  return { info, name };
}

/** The HISTORY table's CHANGES cell: the changed paths, at most three, then how many more. */
export function changesCell(changes: readonly SpecChange[] | undefined): string {
  if (!changes) return "(oldest kept)";
  if (changes.length === 0) return "(no spec change)";
  const paths = changes.map((c) => c.path);
  return paths.length > 3 ? `${paths.slice(0, 3).join(", ")} and ${paths.length - 3} more` : paths.join(", ");
}

export function historyRows(answer: HistoryAnswer, now: number): string[][] {
  return answer.items.map((i) => [
    `${i.generation}${i.current ? " (current)" : ""}`,
    age(i.appliedAt, now),
    changesCell(i.changes),
  ]);
}

export async function rollout(ctx: CtlContext): Promise<number> {
  const [action, ...args] = ctx.args;
  if (action !== "history" && action !== "undo")
    throw new UsageError(
      `${action ? `unknown action "${action}"` : "missing action"}; one of: history, undo`,
    );
  const { info, name } = rolloutTarget(args);
  const client = ctx.client();
  const { output } = ctx.options;
  // The collection, spelled out (info.plural, for these three kinds).
  const dayu = info.kind !== "Service";
  const rts = info.kind === "RuntimeService";
  if (action === "history") {
    const answer = await client.request<HistoryAnswer>(
      "GET",
      `/${dayu ? (rts ? "runtimeservices" : "jointmultiedgeservices") : "services"}/${encodeURIComponent(name)}/history${namespaceQuery(ctx)}`,
    );
    if (output === "json") ctx.out(toJson(answer));
    else if (output === "yaml") ctx.out(toYaml(answer));
    else ctx.out(renderTable(["GENERATION", "APPLIED", "CHANGES"], historyRows(answer, Date.now())));
    return 0;
  }
  const params = new URLSearchParams();
  if (ctx.options.namespace) params.set("namespace", ctx.options.namespace);
  if (ctx.options.toGeneration !== undefined) params.set("toGeneration", String(ctx.options.toGeneration));
  if (ctx.options.dryRun) params.set("dryRun", "true");
  const query = params.size > 0 ? `?${params}` : "";
  const answer = await client.request<PlanAnswer>(
    "POST",
    `/${dayu ? (rts ? "runtimeservices" : "jointmultiedgeservices") : "services"}/${encodeURIComponent(name)}/undo${query}`,
  );
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else if (answer.dryRun) ctx.out(renderDryRun(answer));
  else {
    const lines = [...nodeLines(answer.nodes), summaryLine(answer)];
    ctx.out(`${applyLines(answer.results)}${lines.join("\n")}\n`);
  }
  return 0;
}
