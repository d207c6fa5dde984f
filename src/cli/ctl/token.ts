// `levee ctl token create [--ttl 24h] [--uses 1]`: a join token for `levee edge --token`. The token
// is printed alone on the last line, so `levee ctl token create | tail -1` gives just the token.

import { joinTokenTtlProblem } from "../../cloud/join-tokens.ts";
import { parseDuration } from "../../manifest/duration.ts";
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";
import type { CreatedToken } from "./types.ts";

export async function token(ctx: CtlContext): Promise<number> {
  const [action] = takeArgs(ctx.args, 1);
  if (action !== "create") {
    throw new UsageError(
      action === undefined
        ? "missing action: levee ctl token create"
        : `unknown action "${action}"; one of: create`,
    );
  }
  const { ttl, uses, output } = ctx.options;
  const parsed = parseDuration(ttl);
  if (!parsed.ok) throw new UsageError(`flag --ttl: ${parsed.message}`);
  const problem = joinTokenTtlProblem(parsed.ms);
  if (problem) throw new UsageError(`flag --ttl: ${problem}, got "${ttl}"`);

  const client = ctx.client();
  const created = await client.request<CreatedToken>("POST", "/tokens", { ttl, uses });
  if (output === "json") ctx.out(toJson(created));
  else if (output === "yaml") ctx.out(toYaml(created));
  else {
    const times = created.uses === 1 ? "once" : `${created.uses} times`;
    ctx.out(
      `join token ${created.id}: usable ${times} until ${created.expiresAt}; ` +
        `on the new node: levee edge --cloud ${client.server} --token <the token below>\n${created.token}\n`,
    );
  }
  return 0;
}
