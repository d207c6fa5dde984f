// Help text, generated from the option schema so that every flag shows its default and its
// environment variable, and nothing can be left out.
import {
  envName,
  flagName,
  isBoolean,
  isRequired,
  type OptionKey,
  optionMeta,
  staticDefault,
} from "../config/schema.ts";
import type { Command } from "./command.ts";

const LINE_WIDTH = 100;
/** Keeps "env LEVEE_X" on one line when wrapping. */
const NBSP = "\u00a0";

/** One row per option (and any extra rows), descriptions wrapped to LINE_WIDTH columns. */
export function optionLines(
  keys: readonly OptionKey[],
  extra: { left: string; right: string }[] = [],
): string[] {
  const rows = keys.map((key) => {
    const meta = optionMeta(key);
    const short = meta.short ? `-${meta.short}, ` : "";
    const left = `${short}--${flagName(key)}${isBoolean(key) ? "" : ` ${meta.placeholder}`}`;
    const def = meta.secret ? undefined : (meta.defaultText ?? quoteDefault(staticDefault(key)));
    const need = isRequired(key) ? "required" : def ? `default: ${def}` : "";
    const env = meta.flagOnly ? "" : `env${NBSP}${envName(key)}`;
    const notes = [need, env].filter(Boolean).join("; ");
    return { left, right: `${meta.description}${notes ? ` [${notes}]` : ""}` };
  });
  rows.push(...extra);
  const width = Math.min(30, Math.max(...rows.map((r) => r.left.length)) + 2);
  const indent = " ".repeat(width + 2);
  return rows.map(({ left, right }) => {
    const wrapped = wrap(right, LINE_WIDTH - width - 2)
      .join(`\n${indent}`)
      .replaceAll(NBSP, " ");
    return left.length + 2 > width ? `  ${left}\n${indent}${wrapped}` : `  ${left.padEnd(width)}${wrapped}`;
  });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function quoteDefault(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value === "false" ? undefined : value;
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: ${command.usage}`, "", command.summary];
  if (command.details) lines.push("", command.details);
  lines.push(
    "",
    "Flags:",
    ...optionLines(command.options, [{ left: "-h, --help", right: "show this help" }]),
  );
  return `${lines.join("\n")}\n`;
}

export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  const lines = [
    "levee: run services on edge devices and carry the traffic between them.",
    "",
    "Usage: levee <command> [flags]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Every flag can also be set with its LEVEE_* environment variable or, for the agents, in the",
    "YAML file given by --config (fields named like the flags). Precedence: flag > env > file > default.",
  ];
  for (const c of commands) {
    if (c.options.length === 0) continue;
    lines.push("", `Flags of levee ${c.name}:`, ...optionLines(c.options));
  }
  lines.push("", "Run 'levee <command> --help' for one command.");
  return `${lines.join("\n")}\n`;
}
