// `levee ctl completion bash|zsh|fish`: prints the shell completion script (src/cli/completion.ts).
// Local: no server needed.
import { UsageError } from "../../runtime/errors.ts";
import { type CompletionSpec, completionScript, SHELLS, type Shell } from "../completion.ts";
import { type CtlContext, takeArgs } from "./context.ts";

export async function completion(ctx: CtlContext, spec: CompletionSpec): Promise<number> {
  const [shell] = takeArgs(ctx.args, 1);
  if (!shell || !SHELLS.includes(shell as Shell)) {
    const got = shell ? `unknown shell "${shell}"` : "missing SHELL";
    throw new UsageError(`${got}; one of: ${SHELLS.join(", ")}`);
  }
  ctx.out(completionScript(shell as Shell, spec));
  return 0;
}
