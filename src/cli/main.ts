#!/usr/bin/env bun
// Entry point of the `levee` binary: picks the subcommand, loads its options (flags > env >
// config file > defaults), runs it, and turns every expected failure into one line on stderr
// and an exit code (2: bad input or refusal to start; 1: runtime failure).
import { loadOptions } from "../config/load.ts";
import { describeError, ExitError } from "../runtime/errors.ts";
import type { Command } from "./command.ts";
import { commands } from "./commands/index.ts";
import { commandHelp, globalHelp } from "./help.ts";
import { drainTracker } from "./stdout-drain.ts";

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = topic ? commands.find((c) => c.name === topic) : undefined;
    if (topic && !command) return usage(`levee help: unknown command "${topic}"; ${listCommands()}`);
    process.stdout.write(command ? commandHelp(command) : globalHelp(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v")
    return run(
      commands.find((c) => c.name === "version"),
      [],
      env,
    );
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const what = name.startsWith("-")
      ? `expected a command before flag ${name}`
      : `unknown command "${name}"`;
    return usage(`levee: ${what}; ${listCommands()}`);
  }
  return run(command, rest, env);
}

async function run(command: Command | undefined, argv: string[], env: Record<string, string | undefined>) {
  if (!command) return 1;
  try {
    const loaded = loadOptions({
      command: `levee ${command.name}`,
      keys: command.optionsForArgs?.(argv, env) ?? command.options,
      argv,
      env,
      positionals: command.positionals ?? false,
    });
    if (loaded.help) {
      process.stdout.write(command.helpFor?.(loaded.positionals) ?? commandHelp(command));
      return 0;
    }
    return await command.run({ options: loaded.options, positionals: loaded.positionals, env, commands });
  } catch (err) {
    if (err instanceof ExitError) {
      const message = describeError(err);
      process.stderr.write(`${message.startsWith("levee") ? "" : `levee ${command.name}: `}${message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`levee ${command.name}: internal error: ${describeError(err)}\n`);
    if (env.LEVEE_DEBUG) process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    return 1;
  }
}

function listCommands(): string {
  return `commands: ${commands.map((c) => c.name).join(", ")} (see levee --help)`;
}

function usage(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

if (import.meta.main) {
  const stdout = drainTracker(process.stdout);
  const code = await main(process.argv.slice(2), process.env);
  await stdout.drained();
  process.exit(code);
}
