// `levee ctl node set-bandwidth NODE RATE|none`: the cap the cloud sets on a node's artifact
// downloads (PUT /api/v1/nodes/NODE/bandwidth). The node applies the lower of it and its own
// --download-bandwidth, so a node cannot raise what the cloud sets.
import { formatBandwidth, parseBandwidth } from "../../manifest/bandwidth.ts";
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";

interface Answer {
  node: string;
  bandwidth: number | null;
  changed: boolean;
}

const USAGE = "levee ctl node set-bandwidth NODE RATE|none (e.g. 1MiB/s)";

export async function nodeCommand(ctx: CtlContext): Promise<number> {
  const [action, node, rate] = takeArgs(ctx.args, 3);
  if (action !== "set-bandwidth") throw new UsageError(`usage: ${USAGE}`);
  if (!node || !rate) throw new UsageError(`missing NODE or RATE: ${USAGE}`);
  let bandwidth: string | null = null;
  if (rate !== "none") {
    const parsed = parseBandwidth(rate);
    if (!parsed.ok) throw new UsageError(`RATE: ${parsed.error}`);
    bandwidth = rate;
  }
  const answer = await ctx
    .client()
    .request<Answer>("PUT", `/nodes/${encodeURIComponent(node)}/bandwidth`, { bandwidth });
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else {
    const what =
      answer.bandwidth === null
        ? "no cap from the cloud"
        : `downloads capped at ${formatBandwidth(answer.bandwidth)}`;
    ctx.out(`node ${node}: ${what}${answer.changed ? "" : " (unchanged)"}\n`);
  }
  return 0;
}
