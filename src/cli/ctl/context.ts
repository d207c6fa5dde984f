// What every `levee ctl` subcommand gets: its positional arguments, the ctl options, a lazily
// made API client (status and schema never need a token), and stdout.
import { UsageError } from "../../runtime/errors.ts";
import type { Command } from "../command.ts";
import { ApiClient, type CtlOptions, resolveServer, resolveTarget } from "./client.ts";

export interface CtlContext {
  /** The subcommand's arguments (after `levee ctl <sub>`). */
  args: string[];
  options: CtlOptions;
  env: Record<string, string | undefined>;
  client(): ApiClient;
  /** The server alone (no token needed). */
  server(): string;
  out(text: string): void;
  /** Every levee command (shell completion lists them). */
  commands: readonly Command[];
}

export function makeContext(
  args: string[],
  options: CtlOptions,
  env: Record<string, string | undefined>,
  commands: readonly Command[] = [],
): CtlContext {
  let client: ApiClient | undefined;
  return {
    args,
    options,
    env,
    commands,
    client: () => {
      client ??= new ApiClient(resolveTarget(options, env));
      return client;
    },
    server: () => resolveServer(options, env),
    out: (text) => {
      process.stdout.write(text);
    },
  };
}

/** The positional arguments, at most `max` of them; more is a usage error. */
export function takeArgs(args: readonly string[], max: number): (string | undefined)[] {
  if (args.length > max) throw new UsageError(`unexpected argument "${args[max]}"`);
  return Array.from({ length: max }, (_, i) => args[i]);
}

/** A subcommand: runs with the context and resolves to the exit code. */
export type Subcommand = (ctx: CtlContext) => Promise<number>;

/** `?namespace=NS` (with `sep` "&" to append) when -n was given, else "". */
export function namespaceQuery(ctx: CtlContext, sep: "?" | "&" = "?"): string {
  const ns = ctx.options.namespace;
  return ns ? `${sep}namespace=${encodeURIComponent(ns)}` : "";
}
