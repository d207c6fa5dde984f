// The shape of a subcommand: its help, the options it takes (by key of the one option schema)
// and what it runs. main.ts parses the options and hands them over already validated.
import type { OptionKey, Options } from "../config/schema.ts";

export interface CommandContext<K extends OptionKey = OptionKey> {
  options: Pick<Options, K>;
  positionals: string[];
  env: Record<string, string | undefined>;
  /** Every levee command (what shell completion lists). */
  commands?: readonly Command[];
}

export interface Command<K extends OptionKey = OptionKey> {
  name: string;
  summary: string;
  usage: string;
  details?: string;
  options: readonly K[];
  /**
   * Options that depend on the other arguments (install takes the flags of the mode it installs).
   * Help still lists `options`.
   */
  optionsForArgs?: (argv: readonly string[], env: Record<string, string | undefined>) => readonly K[];
  /** Whether the command takes positional arguments (e.g. ctl's subcommands). */
  positionals?: boolean;
  /** The help of one subcommand (`levee ctl get --help`), or undefined for the command's own. */
  helpFor?: (positionals: readonly string[]) => string | undefined;
  /** Resolves to the exit code. Agents resolve when they have shut down. */
  run(ctx: CommandContext<K>): Promise<number>;
}

export function defineCommand<K extends OptionKey>(command: Command<K>): Command {
  return command as unknown as Command;
}
