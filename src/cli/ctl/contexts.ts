// `levee ctl config get-contexts | current-context | use-context NAME | set-context NAME
// [--server URL] [--token-file FILE] | delete-context NAME`: the contexts file (contexts-file.ts).
// Local: no server needed.
import { resolve } from "node:path";
import { UsageError } from "../../runtime/errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { contextsPath, knownContexts, readContexts, writeContexts } from "./contexts-file.ts";
import { renderTable } from "./format.ts";

const ACTIONS = ["get-contexts", "current-context", "use-context", "set-context", "delete-context"];

export async function config(ctx: CtlContext): Promise<number> {
  const [action, name] = takeArgs(ctx.args, 2);
  const path = contextsPath(ctx.env);
  const file = readContexts(path);
  const needName = () => {
    if (!name) throw new UsageError(`missing NAME: levee ctl config ${action} NAME`);
    return name;
  };
  const existing = (n: string) => {
    if (!Object.hasOwn(file.contexts, n))
      throw new UsageError(`no context "${n}" in ${path}; ${knownContexts(file)}`);
    return n;
  };
  switch (action) {
    case "get-contexts": {
      const rows = Object.entries(file.contexts).map(([n, c]) => [
        n === file["current-context"] ? "*" : "",
        n,
        c.server ?? "",
        c["token-file"] ?? "",
      ]);
      if (rows.length === 0) process.stderr.write(`No contexts in ${path}.\n`);
      else ctx.out(renderTable(["CURRENT", "NAME", "SERVER", "TOKEN-FILE"], rows));
      return 0;
    }
    case "current-context": {
      const current = file["current-context"];
      if (!current) throw new UsageError(`no current context in ${path} (levee ctl config use-context NAME)`);
      ctx.out(`${current}\n`);
      return 0;
    }
    case "use-context": {
      const n = existing(needName());
      writeContexts(path, { ...file, "current-context": n });
      ctx.out(`switched to context "${n}"\n`);
      return 0;
    }
    case "set-context": {
      const n = needName();
      const { server } = ctx.options;
      const tokenFile = ctx.options.tokenFile;
      const before = file.contexts[n] ?? {};
      const entry = {
        ...before,
        ...(server ? { server } : {}),
        ...(tokenFile ? { "token-file": resolve(tokenFile) } : {}),
      };
      writeContexts(path, { ...file, contexts: { ...file.contexts, [n]: entry } });
      ctx.out(`context "${n}" ${Object.hasOwn(file.contexts, n) ? "updated" : "created"} in ${path}\n`);
      return 0;
    }
    case "delete-context": {
      const n = existing(needName());
      const { [n]: _gone, ...rest } = file.contexts;
      const current = file["current-context"] === n ? {} : { "current-context": file["current-context"] };
      writeContexts(path, { ...current, contexts: rest });
      ctx.out(`context "${n}" deleted\n`);
      return 0;
    }
    default:
      throw new UsageError(
        `${action ? `unknown action "${action}"` : "missing action"}; one of: ${ACTIONS.join(", ")}`,
      );
  }
}
