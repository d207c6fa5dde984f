// What `levee install` and `levee uninstall` do, as data: which files to write (path, mode,
// content) or remove, which systemctl commands to run. Pure: the caller passes in what exists on
// disk and then executes or prints the plan (commands/install.ts), so every decision is testable
// without touching the system. Paths in a plan are host paths, i.e. already under --root.
import { join, resolve } from "node:path";
import cloudUnit from "../../systemd/levee-cloud.service" with { type: "text" };
import edgeUnit from "../../systemd/levee-edge.service" with { type: "text" };
import { envName, flagName, type Options, optionMeta, optionsFor, staticDefault } from "../config/schema.ts";
import { UsageError } from "../runtime/errors.ts";
import { mergeEnvFile } from "./env-file.ts";

/** The YAML library, loaded on first use (every `levee` command imports this module). */
const yaml = () => require("yaml") as typeof import("yaml");

export type Mode = "cloud" | "edge";
export const MODES: readonly Mode[] = ["cloud", "edge"];
export const UNIT_TEXT: Record<Mode, string> = { cloud: cloudUnit, edge: edgeUnit };

/** Where things live on the target system (inside --root). */
export const BINARY_PATH = "/usr/local/bin/levee";
export const DEFAULT_DATA_DIR = "/var/lib/levee";
/** Files every levee data dir holds (store/store.ts, store/data-dir-lock.ts). */
export const DATA_DIR_MARKERS = ["levee.db", "levee.lock"];
export const unitName = (mode: Mode) => `levee-${mode}.service`;
export const unitPath = (mode: Mode) => `/etc/systemd/system/${unitName(mode)}`;
export const configPath = (mode: Mode) => `/etc/levee/${mode}.yaml`;
export const envPath = (mode: Mode) => `/etc/levee/${mode}.env`;
export const backupPath = (path: string) => `${path}.bak`;

export interface FileWrite {
  path: string;
  mode: number;
  content: string;
  state: "new" | "changed" | "unchanged";
  /** What changed, one line; never contains a secret value. */
  note?: string;
  /** Where the previous content is kept (host path), when it is kept. */
  backup?: string;
  /** Values are secrets: print them masked. */
  secret?: boolean;
}

export interface SystemctlCommand {
  argv: string[];
  /** A failure is reported but does not stop the rest. */
  optional?: boolean;
}

export interface InstallPlan {
  mode: Mode;
  root: string;
  binary: { path: string; source: string; compiled: boolean };
  files: FileWrite[];
  /** Empty unless root is "/". */
  commands: SystemctlCommand[];
}

export interface InstallInput {
  mode: Mode;
  /** The validated options of the mode (flags > LEVEE_* > --config file). */
  options: Partial<Options>;
  root: string;
  binary: { source: string; compiled: boolean };
  /** Content of an existing host file, or undefined. */
  read: (path: string) => string | undefined;
}

export function planInstall(input: InstallInput): InstallPlan {
  const { mode } = input;
  const root = resolve(input.root);
  const host = (path: string) => join(root, path);
  const { yaml, env } = splitOptions(mode, input.options);
  const installed = input.read(host(unitPath(mode))) !== undefined;

  const unit = fileWrite(host(unitPath(mode)), 0o644, UNIT_TEXT[mode], input.read);
  if (unit.state === "changed") unit.note = "replaced by this version's unit";

  const config = fileWrite(host(configPath(mode)), 0o644, renderConfig(mode, yaml), input.read);
  const previousConfig = input.read(config.path);
  if (config.state === "changed" && previousConfig !== undefined) {
    config.backup = backupPath(config.path);
    config.note = `${describeConfigChange(previousConfig, yaml)}; previous file kept as ${config.backup}`;
  }

  const previousEnv = input.read(host(envPath(mode)));
  const envText = mergeEnvFile(previousEnv, envHeader(mode), env);
  const envFile = { ...fileWrite(host(envPath(mode)), 0o600, envText, input.read), secret: true };
  const names = Object.keys(env).join(", ");
  if (previousEnv === undefined) envFile.note = names ? `sets ${names}` : "no secrets given";
  else envFile.note = names ? `sets ${names}, keeps its other lines` : "kept as it is (no secret given)";

  const commands: SystemctlCommand[] =
    root !== "/"
      ? []
      : installed
        ? [
            { argv: ["daemon-reload"] },
            { argv: ["enable", unitName(mode)] },
            // Already installed: restart so that the new binary and config are used. Workers keep
            // running (KillMode=process) and are re-adopted.
            // --no-block: the unit is Type=notify and starts when the agent is ready, which for an
            // edge waiting for its cloud may take long; `systemctl status` tells how it is doing.
            { argv: ["restart", "--no-block", unitName(mode)] },
          ]
        : [{ argv: ["daemon-reload"] }, { argv: ["enable", "--now", "--no-block", unitName(mode)] }];

  return {
    mode,
    root,
    binary: { path: host(BINARY_PATH), ...input.binary },
    files: [unit, config, envFile],
    commands,
  };
}

function fileWrite(
  path: string,
  mode: number,
  content: string,
  read: (path: string) => string | undefined,
): FileWrite {
  const before = read(path);
  const state = before === undefined ? "new" : before === content ? "unchanged" : "changed";
  return { path, mode, content, state };
}

/** The mode's option values: secrets go to the env file, the rest (unless default) to the YAML. */
export function splitOptions(mode: Mode, options: Partial<Options>) {
  const yaml: Record<string, unknown> = {};
  const env: Record<string, string> = {};
  for (const key of optionsFor(mode)) {
    const value = options[key];
    const meta = optionMeta(key);
    // --config only names a file to read options from; flag-only options cannot be persisted.
    if (value === undefined || key === "config" || meta.flagOnly) continue;
    if (meta.secret) env[envName(key)] = String(value);
    else if (String(value) !== staticDefault(key)) yaml[flagName(key)] = value;
  }
  return { yaml, env };
}

export function renderConfig(mode: Mode, fields: Record<string, unknown>): string {
  const header = [
    `# Configuration of \`levee ${mode}\` (${unitName(mode)}), written by \`levee install\`.`,
    `# Fields are the flags of \`levee ${mode}\` without the leading dashes: see \`levee ${mode} --help\`.`,
    `# This file is world-readable; secrets are in ${envPath(mode)} (mode 0600).`,
  ].join("\n");
  return `${header}\n${Object.keys(fields).length > 0 ? yaml().stringify(fields) : ""}`;
}

/** Names the fields that differ between an existing config file and the new fields, one line. */
export function describeConfigChange(previous: string, fields: Record<string, unknown>): string {
  let doc: unknown;
  try {
    doc = yaml().parse(previous);
  } catch {
    return "the previous file was not valid YAML";
  }
  const old = doc && typeof doc === "object" && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const added = Object.keys(fields).filter((k) => !(k in old));
  const changed = Object.keys(fields).filter((k) => k in old && !same(old[k], fields[k]));
  const removed = Object.keys(old).filter((k) => !(k in fields));
  const parts = [
    changed.length > 0 ? `changed ${changed.join(", ")}` : "",
    added.length > 0 ? `added ${added.join(", ")}` : "",
    removed.length > 0 ? `removed ${removed.join(", ")}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join("; ") : "only comments or formatting differ";
}

function envHeader(mode: Mode): string {
  return [
    `# Environment of ${unitName(mode)} (systemd EnvironmentFile=), written by \`levee install\`.`,
    "# Secrets go here, not into the world-readable YAML file. Keep this file mode 0600.",
    '# One NAME=value a line; in "double quotes" escape " \\ ` $ with a backslash. No $NAME expansion.',
    "",
  ].join("\n");
}

// ---- uninstall --------------------------------------------------------------------------------

export interface UninstallPlan {
  root: string;
  /** The modes being removed. */
  modes: Mode[];
  /** Run first: stop the agents and their workers. */
  stop: SystemctlCommand[];
  remove: string[];
  /** Data dirs deleted (--purge) or kept. */
  purge: string[];
  keep: string[];
  /** Run last. */
  reload: SystemctlCommand[];
}

export interface UninstallInput {
  root: string;
  mode?: Mode;
  purge: boolean;
  dataDir?: string;
  exists: (path: string) => boolean;
  read: (path: string) => string | undefined;
}

export function planUninstall(input: UninstallInput): UninstallPlan {
  const root = resolve(input.root);
  const host = (path: string) => join(root, path);
  const installed = (m: Mode) => [unitPath(m), configPath(m), envPath(m)].some((p) => input.exists(host(p)));
  const modes = input.mode ? [input.mode] : MODES.filter(installed);
  const others = MODES.filter((m) => !modes.includes(m) && installed(m));

  const remove = modes.flatMap((m) =>
    [unitPath(m), configPath(m), backupPath(configPath(m)), envPath(m)].map(host).filter(input.exists),
  );
  if (others.length === 0 && input.exists(host(BINARY_PATH))) remove.push(host(BINARY_PATH));

  const systemd = root === "/";
  const units = modes.filter((m) => input.exists(host(unitPath(m)))).map(unitName);
  const stop = systemd
    ? units.flatMap((unit) => [
        { argv: ["disable", "--now", unit] },
        // KillMode=process left the workers running in the unit's cgroup: stop them too.
        { argv: ["kill", "--signal=SIGTERM", unit], optional: true },
      ])
    : [];
  const reload = systemd && units.length > 0 ? [{ argv: ["daemon-reload"] }] : [];

  const dataDirOf = (m: Mode) => host(resolve("/", input.dataDir ?? configDataDir(m) ?? DEFAULT_DATA_DIR));
  const dirs = [...new Set(modes.length > 0 ? modes.map(dataDirOf) : [dataDirOf("edge")])].filter(
    input.exists,
  );
  const shared = new Set(others.map(dataDirOf));
  const purge = input.purge ? dirs.filter((d) => !shared.has(d)) : [];
  // A wrong data-dir must not cost someone their home directory: only delete a real data dir.
  for (const dir of purge) {
    if (!DATA_DIR_MARKERS.some((name) => input.exists(join(dir, name))))
      throw new UsageError(
        `levee uninstall: --purge refuses to delete ${dir}: it holds no ${DATA_DIR_MARKERS.join(" or ")}, so it is not a levee data dir`,
      );
  }
  return { root, modes, stop, remove, purge, keep: dirs.filter((d) => !purge.includes(d)), reload };

  function configDataDir(m: Mode): string | undefined {
    const text = input.read(host(configPath(m)));
    try {
      const value =
        text === undefined ? undefined : (yaml().parse(text) as Record<string, unknown>)?.["data-dir"];
      return typeof value === "string" && value.length > 0 ? value : undefined;
    } catch {
      return undefined;
    }
  }
}
