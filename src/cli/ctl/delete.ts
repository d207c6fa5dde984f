// `levee ctl delete KIND NAME`: deletes a service or config (its workers stop on the next plan),
// or a node (it must join again with a new token), or a namespace with everything in it (-n NS: the
// object's namespace). Prints `service/echo deleted`.
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, namespaceQuery, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";
import { kindArgument, objectRef } from "./kinds.ts";

export async function deleteObject(ctx: CtlContext): Promise<number> {
  const [word, name] = takeArgs(ctx.args, 2);
  const info = kindArgument(word, (k) => k.deletable);
  if (name === undefined) throw new UsageError(`missing NAME: levee ctl delete ${info.singular} NAME`);
  const answer = await ctx
    .client()
    .request<{ deleted?: { kind: string; name: string }; alsoDeleted?: { kind: string; name: string }[] }>(
      "DELETE",
      `/${info.plural}/${encodeURIComponent(name)}${namespaceQuery(ctx)}`,
    );
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else {
    const self = objectRef(answer.deleted?.kind ?? info.kind, answer.deleted?.name ?? name);
    // What a Dayu object made goes with it.
    const made = (answer.alsoDeleted ?? []).map(
      (o) => `${objectRef(o.kind, o.name)} deleted (with ${self})\n`,
    );
    ctx.out(`${self} deleted\n${made.join("")}`);
  }
  return 0;
}
