// The help of one `levee ctl` subcommand (`levee ctl get --help`, `levee ctl help get`): its usage,
// summary and details, the flags it reads, then the flags every subcommand takes to reach the
// cloud. Made from the subcommand's entry in the ctl command table (src/cli/commands/ctl.ts).
import { flagName, type OptionKey, optionMeta } from "../../config/schema.ts";
import { optionLines } from "../help.ts";

/** What every subcommand that talks to the cloud reads: where the server is, which token. */
export const CONNECTION_FLAGS: readonly OptionKey[] = ["server", "token", "tokenFile", "dataDir", "context"];

export interface HelpEntry {
  usage: string;
  summary: string;
  details?: string;
  flags?: readonly OptionKey[];
}

export function subcommandHelp(entry: HelpEntry): string {
  const lines = [`Usage: levee ctl ${entry.usage}`, "", entry.summary];
  if (entry.details) lines.push("", entry.details);
  const own = (entry.flags ?? []).filter((k) => !CONNECTION_FLAGS.includes(k));
  const help = { left: "-h, --help", right: "show this help" };
  if (own.length > 0) lines.push("", "Flags:", ...optionLines(own, [help]));
  lines.push("", "Connection flags:", ...optionLines(CONNECTION_FLAGS, own.length > 0 ? [] : [help]));
  lines.push("", "Run 'levee ctl --help' for every subcommand.");
  return `${lines.join("\n")}\n`;
}

/** The flags as typed on a command line: `--server`, and `-o` for those with a short form. */
export function flagWords(keys: readonly OptionKey[]): string[] {
  const words = keys.flatMap((key) => {
    const short = optionMeta(key).short;
    return [`--${flagName(key)}`, ...(short ? [`-${short}`] : [])];
  });
  return [...words, "--help"];
}
