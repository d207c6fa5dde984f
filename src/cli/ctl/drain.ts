// `levee ctl cordon|uncordon|drain NODE`: whether the cloud places new nodeSelector workers on a
// node (POST /api/v1/nodes/NODE/cordon, /uncordon, /drain). Drain cordons the node and moves its
// selector workers to the other matching nodes, dropping them only once those run theirs ready;
// it prints one line per service: moved, waiting (for which nodes), held (nowhere to go), or pinned
// to the node by name (they stay). `levee ctl get nodes` shows SchedulingDisabled meanwhile.

import type { DrainItem, Scheduling } from "../../cloud/drain.ts";
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";

interface Answer {
  node: string;
  scheduling: Scheduling;
  changed: boolean;
  items?: DrainItem[];
}

/** A node's drain report: one line per service; pinned workers say that they stay. */
export function drainLines(node: string, items: readonly DrainItem[]): string[] {
  if (items.length === 0) return [`node ${node} drained: it runs no workers`];
  return items.map((item) => {
    const what = `${item.workers} worker${item.workers === 1 ? "" : "s"} of ${item.service}`;
    switch (item.state) {
      case "pinned":
        return `${what} pinned to node ${node} by name: they stay (change the service's node: to move them)`;
      case "moved":
        return `${what} moved: ${item.to?.join(", ")} run${item.to?.length === 1 ? "s" : ""} the service ready`;
      case "waiting":
        return `${what} stay until the workers on ${item.waitingFor?.join(", ")} are ready, then go`;
      default:
        return `${what} held on node ${node}: ${item.reason}`;
    }
  });
}

const DONE: Record<Action, [string, string]> = {
  cordon: ["cordoned: no new nodeSelector workers go there", "already cordoned"],
  uncordon: ["uncordoned: nodeSelector workers are placed there again", "was not cordoned"],
  drain: ["cordoned and draining", "already draining"],
};

type Action = "cordon" | "uncordon" | "drain";

async function setScheduling(
  ctx: CtlContext,
  action: Action,
  send: (node: string) => Promise<Answer>,
): Promise<number> {
  const [node] = takeArgs(ctx.args, 1);
  if (!node) throw new UsageError(`missing NODE: levee ctl ${action} NODE`);
  const answer = await send(encodeURIComponent(node));
  const { output } = ctx.options;
  if (output === "json") ctx.out(toJson(answer));
  else if (output === "yaml") ctx.out(toYaml(answer));
  else {
    const [changed, same] = DONE[action];
    const lines = [`node ${node} ${answer.changed ? changed : same}`];
    if (answer.items) lines.push(...drainLines(node, answer.items));
    ctx.out(`${lines.join("\n")}\n`);
  }
  return 0;
}

export const cordon = (ctx: CtlContext) =>
  setScheduling(ctx, "cordon", (node) => ctx.client().request<Answer>("POST", `/nodes/${node}/cordon`));
export const uncordon = (ctx: CtlContext) =>
  setScheduling(ctx, "uncordon", (node) => ctx.client().request<Answer>("POST", `/nodes/${node}/uncordon`));
export const drain = (ctx: CtlContext) =>
  setScheduling(ctx, "drain", (node) => ctx.client().request<Answer>("POST", `/nodes/${node}/drain`));
