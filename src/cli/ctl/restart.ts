// `levee ctl restart SERVICE --node N [--worker I] [-n NS]`: restarts one worker (POST
// /api/v1/workers/restart). The cloud records it as desired state: the node stops the running
// instance and starts a new one at once, or when it is connected again. Prints
// `worker SERVICE/NODE/I restarted`.
import type { Options } from "../../config/schema.ts";
import { qualifiedName } from "../../manifest/namespace.ts";
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";

type RestartOptions = Partial<Pick<Options, "node" | "worker">>;

export async function restart(ctx: CtlContext): Promise<number> {
  const [service] = takeArgs(ctx.args, 1);
  const usage = "levee ctl restart SERVICE --node NODE [--worker I] [-n NAMESPACE]";
  if (!service) throw new UsageError(`missing SERVICE: ${usage}`);
  // The ctl options carry these (src/config/schema.ts); CtlOptions lists only the common ones.
  const options = ctx.options as typeof ctx.options & RestartOptions;
  if (!options.node)
    throw new UsageError(
      "missing --node NODE: the node the worker runs on (levee ctl get workers SERVICE shows it)",
    );
  const index = options.worker ?? 0;
  const answer = await ctx
    .client()
    .request<{ restarted: { service: string; node: string; index: number } }>("POST", "/workers/restart", {
      service: qualifiedName(ctx.options.namespace, service),
      node: options.node,
      index,
    });
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else ctx.out(`worker ${service}/${options.node}/${index} restarted\n`);
  return 0;
}
