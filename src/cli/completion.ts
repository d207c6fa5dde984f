// Shell completion for `levee` (bash, zsh, fish), generated from the command table: commands,
// ctl's subcommands, their flags, and the words their first argument takes (kinds for get,
// describe, delete, schema; `create` for token, ...). The scripts hold every word, so completing
// runs no levee process. `levee ctl completion SHELL` prints one; see its help for where it goes.

export interface CompletionSpec {
  commands: {
    name: string;
    /** Flags as typed: "--server", "-o". */
    flags: readonly string[];
    subcommands?: readonly { name: string; flags: readonly string[]; args: readonly string[] }[];
  }[];
}

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** A word list for a shell string: the words are flags, names and kinds (no quoting needed). */
const words = (list: readonly string[]): string => [...new Set(list)].join(" ");

/** The bash function `_levee`: `complete -F _levee levee`. zsh loads it through bashcompinit. */
export function bashScript(spec: CompletionSpec): string {
  const commandCases = spec.commands.map((c) => {
    if (!c.subcommands) return `    ${c.name}) COMPREPLY=($(compgen -W "${words(c.flags)}" -- "$cur")) ;;`;
    const subs = c.subcommands
      .map(
        (s) =>
          `        ${s.name}) if [[ $cur == -* ]]; then list="${words(s.flags)}"; ` +
          `elif (( COMP_CWORD == 3 )); then list="${words(s.args)}"; fi ;;`,
      )
      .join("\n");
    return [
      `    ${c.name})`,
      `      if (( COMP_CWORD == 2 )); then`,
      `        if [[ $cur == -* ]]; then list="${words(c.flags)}"; else list="${words(c.subcommands.map((s) => s.name))}"; fi`,
      `      else`,
      `        case "\${COMP_WORDS[2]}" in`,
      subs,
      `        esac`,
      `      fi`,
      `      COMPREPLY=($(compgen -W "$list" -- "$cur")) ;;`,
    ].join("\n");
  });
  return [
    "# levee completion for bash: source <(levee ctl completion bash)",
    "_levee() {",
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" list=""`,
    "  COMPREPLY=()",
    "  if (( COMP_CWORD == 1 )); then",
    `    COMPREPLY=($(compgen -W "${words(spec.commands.map((c) => c.name))} --help --version" -- "$cur"))`,
    "    return 0",
    "  fi",
    `  case "\${COMP_WORDS[1]}" in`,
    ...commandCases,
    "  esac",
    "  return 0",
    "}",
    "complete -F _levee levee",
    "",
  ].join("\n");
}

export function zshScript(spec: CompletionSpec): string {
  return [
    "# levee completion for zsh: source <(levee ctl completion zsh)",
    "autoload -U +X bashcompinit && bashcompinit",
    bashScript(spec).split("\n").slice(1).join("\n"),
  ].join("\n");
}

export function fishScript(spec: CompletionSpec): string {
  const lines = ["# levee completion for fish: levee ctl completion fish | source", "complete -c levee -f"];
  const top = spec.commands.map((c) => c.name);
  lines.push(`complete -c levee -n "not __fish_seen_subcommand_from ${words(top)}" -a "${words(top)}"`);
  for (const c of spec.commands) {
    lines.push(...fishFlags(`__fish_seen_subcommand_from ${c.name}`, c.flags));
    if (!c.subcommands) continue;
    const subs = c.subcommands.map((s) => s.name);
    lines.push(
      `complete -c levee -n "__fish_seen_subcommand_from ${c.name}; and not __fish_seen_subcommand_from ${words(subs)}" -a "${words(subs)}"`,
    );
    for (const s of c.subcommands) {
      const when = `__fish_seen_subcommand_from ${c.name}; and __fish_seen_subcommand_from ${s.name}`;
      if (s.args.length > 0) lines.push(`complete -c levee -n "${when}" -a "${words(s.args)}"`);
      lines.push(...fishFlags(when, s.flags));
    }
  }
  return `${lines.join("\n")}\n`;
}

function fishFlags(when: string, flags: readonly string[]): string[] {
  return flags.map((flag) =>
    flag.startsWith("--")
      ? `complete -c levee -n "${when}" -l ${flag.slice(2)}`
      : `complete -c levee -n "${when}" -s ${flag.slice(1)}`,
  );
}

export function completionScript(shell: Shell, spec: CompletionSpec): string {
  if (shell === "bash") return bashScript(spec);
  if (shell === "zsh") return zshScript(spec);
  return fishScript(spec);
}
