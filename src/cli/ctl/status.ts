// `levee ctl status`: whether the cloud API is up and ready, and which readiness checks fail. Needs
// no token (it reads /readyz).

import { unreachable } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";

const STATUS_TIMEOUT_MS = 5000;

export async function status(ctx: CtlContext): Promise<number> {
  takeArgs(ctx.args, 0);
  const server = ctx.server();
  let res: Response;
  try {
    res = await fetch(new URL("/readyz", server), { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
  } catch (err) {
    // The same one line as every other subcommand (ctl.ts prints it).
    throw unreachable(server, err, STATUS_TIMEOUT_MS);
  }
  const body = (await res.json().catch(() => ({}))) as { checks?: Record<string, string>; version?: string };
  ctx.out(`${server}: ${res.ok ? "ready" : "not ready"}${body.version ? ` (levee ${body.version})` : ""}\n`);
  for (const [name, result] of Object.entries(body.checks ?? {})) {
    ctx.out(`  ${name.padEnd(10)}${result}\n`);
  }
  return res.ok ? 0 : 1;
}
