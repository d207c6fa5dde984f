// Turns argv, LEVEE_* environment variables and the YAML config file into validated options.
// Precedence: flag > environment > config file > default. Every error is a UsageError with one
// line that names the flag, variable or config field and says what was expected.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { z } from "zod";
import { UsageError } from "../runtime/errors.ts";
import { describeFsError } from "../runtime/fs-errors.ts";
import {
  envName,
  flagName,
  isBoolean,
  type OptionKey,
  type Options,
  optionMeta,
  optionsSchema,
} from "./schema.ts";

type Source = { kind: "flag" } | { kind: "env" } | { kind: "file"; path: string } | { kind: "default" };

export interface Loaded<K extends OptionKey> {
  options: Pick<Options, K>;
  positionals: string[];
  help: boolean;
}

interface LoadInput<K extends OptionKey> {
  /** How the command is called in messages, e.g. "levee edge". */
  command: string;
  keys: readonly K[];
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** Most commands take no positional arguments. */
  positionals?: boolean;
}

export function loadOptions<K extends OptionKey>(input: LoadInput<K>): Loaded<K> {
  const { command, keys } = input;
  const flags = parseFlags(input);
  if (flags.help) return { options: {} as Pick<Options, K>, positionals: flags.positionals, help: true };

  const fileOption = keys.includes("config" as K)
    ? (flags.values.config ?? input.env[envName("config")])
    : undefined;
  const file = typeof fileOption === "string" ? readConfigFile(fileOption, command, keys) : undefined;

  const raw: Record<string, unknown> = {};
  const sources = new Map<string, Source>();
  for (const key of keys) {
    const meta = optionMeta(key);
    const fromFlag = flags.values[flagName(key)];
    const fromEnv = meta.flagOnly ? undefined : input.env[envName(key)];
    const fromFile = meta.flagOnly ? undefined : file?.values[flagName(key)];
    if (fromFlag !== undefined) {
      raw[key] = fromFlag;
      sources.set(key, { kind: "flag" });
    } else if (fromEnv !== undefined) {
      raw[key] = fromEnv;
      sources.set(key, { kind: "env" });
    } else if (fromFile !== undefined && file) {
      raw[key] = fromFile;
      sources.set(key, { kind: "file", path: file.path });
    }
  }

  // Typed loosely here: zod's pick() cannot follow a generic key set; the result is checked by
  // the schema at run time and typed by K for the caller.
  const mask = Object.fromEntries(keys.map((k) => [k, true])) as Record<OptionKey, true>;
  const result = optionsSchema.pick(mask).safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? "") as OptionKey;
    throw new UsageError(`${command}: ${describeIssue(key, sources.get(key), issue, raw[key])}`);
  }
  return { options: result.data as unknown as Pick<Options, K>, positionals: flags.positionals, help: false };
}

function parseFlags<K extends OptionKey>(input: LoadInput<K>) {
  const spec: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const key of input.keys) {
    const meta = optionMeta(key);
    spec[flagName(key)] = {
      type: isBoolean(key) ? "boolean" : "string",
      ...(meta.short ? { short: meta.short } : {}),
    };
  }
  try {
    const parsed = parseArgs({
      args: [...input.argv],
      options: spec,
      strict: true,
      allowPositionals: true,
      allowNegative: false,
    });
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (!input.positionals && parsed.positionals.length > 0 && !values.help) {
      throw new UsageError(`${input.command}: unexpected argument "${parsed.positionals[0]}"`);
    }
    return { values, positionals: parsed.positionals, help: values.help === true };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${input.command}: ${rewordParseArgsError(err, input.keys)}`);
  }
}

/** node:util parseArgs errors are multi-line and mention its API; say what the user did instead. */
function rewordParseArgsError(err: unknown, keys: readonly OptionKey[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const option = /'(-{1,2}[^'\s]+)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const name = option.replace(/^-+/, "").split("=")[0] ?? "";
    const near = keys.map(flagName).find((f) => f.startsWith(name.slice(0, 3)) && name.length > 2);
    return `unknown flag ${option}${near ? ` (did you mean --${near}?)` : ""}; see --help`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take an argument/.test(message)) return `flag ${option} takes no value`;
    return `flag ${option.split(" ")[0]} needs a value`;
  }
  return message.split("\n")[0] ?? message;
}

function readConfigFile(path: string, command: string, keys: readonly OptionKey[]) {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`${command}: cannot read config file ${path}: ${describeFsError(err)}`);
  }
  let doc: unknown;
  try {
    // Required here, not imported at the top: the yaml parser costs ~1.5 MB of memory in every
    // agent, and most agents (systemd passes --config, the harness does not) start without a file.
    const { parse } = require("yaml") as typeof import("yaml");
    doc = parse(text, { prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    const e = err as { message?: string; pos?: [number, number] };
    const where = e.pos ? ` (${lineAndColumn(text, e.pos[0])})` : "";
    const what = (e.message ?? "").split("\n")[0];
    throw new UsageError(`${command}: config file ${path} is not valid YAML${where}: ${what}`);
  }
  if (doc === null || doc === undefined) return { path, values: {} as Record<string, unknown> };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new UsageError(`${command}: config file ${path} must be a mapping of option names to values`);
  }
  const allowed = new Set(keys.filter((k) => !optionMeta(k).flagOnly && k !== "config").map(flagName));
  for (const field of Object.keys(doc)) {
    if (!allowed.has(field)) {
      const hint = /[A-Z_]/.test(field) ? ` (fields are written like flags, e.g. data-dir)` : "";
      throw new UsageError(`${command}: config file ${path}: unknown field "${field}"${hint}`);
    }
  }
  return { path, values: doc as Record<string, unknown> };
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function describeIssue(
  key: OptionKey,
  source: Source | undefined,
  issue: z.core.$ZodIssue | undefined,
  value: unknown,
): string {
  const flag = `--${flagName(key)}`;
  if (!source) {
    const meta = key ? optionMeta(key) : undefined;
    const alt = meta?.flagOnly ? "" : ` (or ${envName(key)}, or ${flagName(key)}: in the config file)`;
    return `missing required flag ${flag}${alt}: ${meta?.description ?? ""}`;
  }
  const name =
    source.kind === "flag"
      ? `flag ${flag}`
      : source.kind === "env"
        ? `environment variable ${envName(key)}`
        : source.kind === "file"
          ? `config file ${source.path}: field ${flagName(key)}`
          : flag;
  let message = issue?.message ?? "invalid value";
  if (issue?.code === "invalid_value" && "values" in issue) {
    message = `expected one of ${issue.values.map((v) => String(v)).join(", ")}`;
  } else if (issue?.code === "invalid_type" && message.startsWith("Invalid input")) {
    message = `expected ${issue.expected}`;
  }
  const shown = optionMeta(key).secret || typeof value === "object" ? "" : `, got "${String(value)}"`;
  return `${name}: ${message}${message.includes("got ") ? "" : shown}`;
}
