// `levee ctl schema KIND`: the JSON Schema of a manifest kind, for editors that validate YAML
// (e.g. `# yaml-language-server: $schema=service.schema.json`). Local: no server needed.
import { describeError, UsageError } from "../../runtime/errors.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson } from "./format.ts";
import { kindArgument } from "./kinds.ts";

export async function schema(ctx: CtlContext): Promise<number> {
  const [word] = takeArgs(ctx.args, 1);
  const info = kindArgument(word, (k) => k.resource);
  // Loaded here: the resource schemas are only needed by this subcommand.
  const { jsonSchemaFor } = await import("../../manifest/json-schema.ts");
  let result: unknown;
  try {
    result = jsonSchemaFor(info.kind);
  } catch (err) {
    throw new UsageError(`no JSON Schema for kind ${info.kind}: ${describeError(err)}`);
  }
  if (result === undefined || result === null) throw new UsageError(`no JSON Schema for kind ${info.kind}`);
  ctx.out(toJson(result));
  return 0;
}
