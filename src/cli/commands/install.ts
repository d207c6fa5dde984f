// `levee install` / `levee uninstall`: put this binary and a systemd unit on the host (or under
// --root for packaging) and take them away again. What to do is decided by install-plan.ts; this
// module reads the existing files, then prints the plan (--dry-run) or carries it out.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { envName, type OptionKey, type Options, optionsFor } from "../../config/schema.ts";
import { removeFastPathTables, TABLE_PREFIX } from "../../mesh/fastpath/nft.ts";
import { replaceFileDurably, writeFileDurably } from "../../runtime/durable-file.ts";
import { ExitError, UsageError } from "../../runtime/errors.ts";
import { isCompiled } from "../../runtime/version.ts";
import { defineCommand } from "../command.ts";
import { maskEnvFile } from "../env-file.ts";
import {
  type InstallPlan,
  MODES,
  type Mode,
  planInstall,
  planUninstall,
  type SystemctlCommand,
  type UninstallPlan,
  unitName,
} from "../install-plan.ts";

/** A failure while changing the system (exit 1, one line). */
class InstallError extends ExitError {
  readonly exitCode = 1;
}

const INSTALL_KEYS = optionsFor("install");
const ALL_INSTALL_KEYS = [...new Set([...INSTALL_KEYS, ...optionsFor("cloud"), ...optionsFor("edge")])];
const isMode = (value: string): value is Mode => (MODES as readonly string[]).includes(value);

/** The --mode the user asked for, found before the other flags are parsed. */
function requestedMode(argv: readonly string[], env: Record<string, string | undefined>) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (arg === "--mode") return { given: true, value: argv[i + 1], from: "flag --mode" };
    if (arg.startsWith("--mode=")) return { given: true, value: arg.slice(7), from: "flag --mode" };
  }
  const value = env[envName("mode")];
  return { given: value !== undefined, value, from: `environment variable ${envName("mode")}` };
}

export const installCommand = defineCommand<OptionKey>({
  name: "install",
  summary: "install this binary and the cloud or edge agent as a systemd service",
  usage: "levee install --mode cloud|edge [flags of that mode] [--dry-run] [--root DIR]",
  details: [
    "Takes every flag of `levee <mode>` too (see levee cloud --help, levee edge --help), checked the",
    "same way, and writes (paths under --root):",
    "  /usr/local/bin/levee                      this binary (0755), replaced atomically",
    "  /etc/systemd/system/levee-<mode>.service  the unit (0644); customise it with systemctl edit",
    "  /etc/levee/<mode>.yaml                    the flags given, except secrets (0644)",
    "  /etc/levee/<mode>.env                     secrets such as LEVEE_TOKEN (0600), always created",
    "then runs systemctl daemon-reload and enable --now --no-block levee-<mode>.service (when the unit",
    "was installed before: enable and restart; workers keep running); the unit is ready once the agent",
    "is (Type=notify: systemctl status shows why not yet). systemctl runs only when --root is /.",
    "Existing files: the unit is replaced; a different <mode>.yaml is replaced and the old one kept as",
    "<mode>.yaml.bak, and the changed fields are printed; in <mode>.env only the variables given now",
    "are set, all other lines stay (a reinstall without --token keeps the join token).",
    "--dry-run prints every file with its mode and content (env values as ***) and every command.",
    "Needs the compiled binary (dist/levee-linux-<arch>); from source only --dry-run works.",
  ].join("\n"),
  options: INSTALL_KEYS,
  optionsForArgs(argv, env) {
    const help = argv.includes("--help") || argv.includes("-h");
    const mode = requestedMode(argv, env);
    if (help) return ALL_INSTALL_KEYS;
    if (!mode.given) throw new UsageError("levee install: missing required flag --mode: cloud or edge");
    if (mode.value === undefined) return INSTALL_KEYS; // "--mode" without a value: reported by the parser
    if (!isMode(mode.value))
      throw new UsageError(`levee install: ${mode.from}: expected one of cloud, edge, got "${mode.value}"`);
    return [...new Set([...INSTALL_KEYS, ...optionsFor(mode.value)])];
  },
  async run({ options }) {
    const o = options as Partial<Options>;
    const mode = o.mode as Mode;
    const compiled = isCompiled();
    if (!o.dryRun && !compiled) {
      throw new UsageError(
        `levee install: this levee runs from source and cannot install itself; build it (npm run build) and run dist/levee-linux-${process.arch} install ..., or add --dry-run`,
      );
    }
    const plan = planInstall({
      mode,
      options: o,
      root: o.root ?? "/",
      binary: { source: compiled ? process.execPath : Bun.main, compiled },
      read: readIfExists,
    });
    if (o.dryRun) {
      process.stdout.write(renderInstallPlan(plan));
      return 0;
    }
    requireRootUser("install", plan.root);
    installBinary(plan.binary.source, plan.binary.path);
    for (const file of plan.files) {
      if (file.state === "unchanged") {
        // Same content, but a hand-made env file may be readable by others: enforce the mode.
        const wrong = (statSync(file.path).mode & 0o777) !== file.mode;
        if (wrong) attempt(`chmod ${file.path}`, () => chmodSync(file.path, file.mode));
        say(`unchanged ${file.path}${wrong ? ` (mode set to ${octal(file.mode)})` : ""}`);
        continue;
      }
      const previous = file.backup ? readIfExists(file.path) : undefined;
      if (file.backup && previous !== undefined) writeAtomic(file.backup, previous, file.mode);
      writeAtomic(file.path, file.content, file.mode);
      say(`wrote ${file.path} (${octal(file.mode)}, ${file.state}${file.note ? `: ${file.note}` : ""})`);
    }
    if (plan.commands.length === 0) {
      say(`installed under ${plan.root}; systemctl not run (it only runs when --root is /)`);
      return 0;
    }
    for (const command of plan.commands) {
      const failure = systemctl(command);
      if (failure) throw new InstallError(`levee install: files are installed, but ${failure}`);
      say(`ran systemctl ${command.argv.join(" ")}`);
    }
    say(
      `${unitName(mode)} is enabled and starting; \`systemctl status ${unitName(mode)}\` says when it is ready, follow it with: journalctl -u ${unitName(mode)} -f`,
    );
    return 0;
  },
});

export const uninstallCommand = defineCommand<OptionKey>({
  name: "uninstall",
  summary: "stop and remove the installed agents and the binary; keep the data dir unless --purge",
  usage: "levee uninstall [--mode cloud|edge] [--purge] [--data-dir DIR] [--dry-run] [--root DIR]",
  details: [
    "--mode cloud|edge removes that agent; without it, every installed one. For each, it runs",
    "systemctl disable --now levee-<mode>.service and systemctl kill (KillMode=process left its",
    "workers running), removes the unit, /etc/levee/<mode>.yaml, .yaml.bak and .env, then runs",
    "systemctl daemon-reload; /usr/local/bin/levee goes once no agent is left. systemctl runs only",
    "when --root is /. The data dir is kept unless --purge; it is --data-dir, else data-dir in the",
    "installed config, else /var/lib/levee (all under --root), and it must hold levee.db or",
    "levee.lock to be deleted. The mesh fast path's nftables tables (inet levee-<mode>-<node>) of the",
    "removed modes go too, when --root is / and it runs as root. --dry-run prints every command and",
    "path instead.",
  ].join("\n"),
  options: optionsFor("uninstall"),
  optionsForArgs(argv, env) {
    const keys = optionsFor("uninstall");
    return requestedMode(argv, env).given ? [...keys, "mode"] : keys;
  },
  async run({ options }) {
    const o = options as Partial<Options>;
    const plan = planUninstall({
      root: o.root ?? "/",
      mode: o.mode,
      purge: o.purge ?? false,
      dataDir: o.dataDir,
      exists: existsSync,
      read: readIfExists,
    });
    // The agents' kernel rules (kept while their workers ran on) go with them.
    const prefixes = (o.mode ? [o.mode] : ["cloud", "edge"]).map((m) => `${TABLE_PREFIX}${m}-`);
    const removeTables = async () => {
      if (plan.root !== "/" || process.getuid?.() !== 0) return;
      for (const line of await removeFastPathTables(prefixes)) say(line);
    };
    if (plan.remove.length === 0 && plan.stop.length === 0 && plan.purge.length === 0) {
      const what = o.mode ? unitName(o.mode) : "levee";
      if (!o.dryRun) await removeTables();
      say(`levee uninstall: ${what} is not installed under ${plan.root}; nothing to do`);
      for (const dir of plan.keep) say(`kept data dir ${dir} (delete it with --purge)`);
      return 0;
    }
    if (o.dryRun) {
      process.stdout.write(renderUninstallPlan(plan));
      return 0;
    }
    requireRootUser("uninstall", plan.root);
    for (const command of plan.stop) {
      const failure = systemctl(command);
      if (failure && !command.optional)
        throw new InstallError(`levee uninstall: ${failure}; nothing was removed`);
      say(failure ? `warning: ${failure}` : `ran systemctl ${command.argv.join(" ")}`);
    }
    await removeTables();
    for (const path of plan.remove) {
      attempt(`remove ${path}`, () => rmSync(path, { force: true }));
      say(`removed ${path}`);
    }
    try {
      rmdirSync(join(plan.root, "/etc/levee")); // only when empty: hand-made files stay
    } catch {}
    for (const dir of plan.purge) {
      attempt(`delete ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
      say(`deleted data dir ${dir}`);
    }
    for (const dir of plan.keep) say(`kept data dir ${dir} (delete it with --purge)`);
    for (const command of plan.reload) {
      const failure = systemctl(command);
      if (failure) throw new InstallError(`levee uninstall: files are removed, but ${failure}`);
      say(`ran systemctl ${command.argv.join(" ")}`);
    }
    return 0;
  },
});

// ---- printing ---------------------------------------------------------------------------------

const octal = (mode: number) => `0${mode.toString(8)}`;
const say = (line: string) => process.stdout.write(`${line}\n`);

export function renderInstallPlan(plan: InstallPlan): string {
  const { binary } = plan;
  const out = [`levee install --mode ${plan.mode} --dry-run: nothing is changed. The plan:`, ""];
  out.push(`==> ${binary.path} (mode 0755) <==`);
  out.push(
    binary.compiled
      ? `a copy of ${binary.source}`
      : `a copy of the compiled binary; this levee runs from source (${binary.source}), so a real install needs dist/levee-linux-${process.arch}`,
    "",
  );
  for (const file of plan.files) {
    const note = file.note ? `: ${file.note}` : "";
    const masked = file.secret ? "; values shown as ***" : "";
    out.push(`==> ${file.path} (mode ${octal(file.mode)}, ${file.state}${note}${masked}) <==`);
    out.push(`${(file.secret ? maskEnvFile(file.content) : file.content).trimEnd()}`, "");
  }
  out.push("==> commands <==");
  if (plan.commands.length === 0) out.push(`none: --root is ${plan.root}, systemctl only runs when it is /`);
  for (const command of plan.commands) out.push(`systemctl ${command.argv.join(" ")}`);
  return `${out.join("\n")}\n`;
}

export function renderUninstallPlan(plan: UninstallPlan): string {
  const out = [`levee uninstall --dry-run: nothing is changed. The plan:`];
  for (const command of plan.stop) out.push(`run    systemctl ${command.argv.join(" ")}`);
  for (const path of plan.remove) out.push(`remove ${path}`);
  for (const dir of plan.purge) out.push(`delete ${dir} (data dir, --purge)`);
  for (const dir of plan.keep) out.push(`keep   ${dir} (data dir; --purge deletes it)`);
  for (const command of plan.reload) out.push(`run    systemctl ${command.argv.join(" ")}`);
  if (plan.stop.length + plan.reload.length === 0) out.push(`(no systemctl: --root is ${plan.root})`);
  return `${out.join("\n")}\n`;
}

// ---- changing the system ----------------------------------------------------------------------

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InstallError(`cannot read ${path}: ${reason(err)}`);
  }
}

function requireRootUser(command: string, root: string) {
  if (root === "/" && process.getuid?.() !== 0)
    throw new UsageError(`levee ${command}: changing / needs root (sudo); or use --root DIR or --dry-run`);
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOSPC") return "no space left on the device";
  return code ?? (err instanceof Error ? err.message : String(err));
}

function attempt(what: string, action: () => void) {
  try {
    action();
  } catch (err) {
    throw new InstallError(`cannot ${what}: ${reason(err)}`);
  }
}

/** Makes the directory of `path`, then `write`s it (durably: runtime/durable-file.ts). */
function replaceAtomically(path: string, write: () => void) {
  attempt(`write ${path}`, () => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    write();
  });
}

function writeAtomic(path: string, content: string, mode: number) {
  // Created with its final mode, so a secret is never readable by others, not even briefly.
  replaceAtomically(path, () => writeFileDurably(path, content, { mode }));
}

function installBinary(source: string, path: string) {
  if (existsSync(path) && realpathSync(path) === realpathSync(source)) {
    say(`unchanged ${path} (this binary is already there)`);
    return;
  }
  replaceAtomically(path, () =>
    replaceFileDurably(path, (tmp) => copyFileSync(source, tmp), { mode: 0o755 }),
  );
  say(`installed ${path} (0755) from ${source}`);
}

/** Runs one systemctl command; returns a one-line description of the failure, if any. */
function systemctl(command: SystemctlCommand): string | undefined {
  const line = `systemctl ${command.argv.join(" ")}`;
  const bin = Bun.which("systemctl");
  if (!bin) return `systemctl was not found (is this a systemd host?), so ${line} was not run`;
  const result = Bun.spawnSync([bin, ...command.argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (result.exitCode === 0) return undefined;
  const why = `${result.stderr.toString()}\n${result.stdout.toString()}`
    .split("\n")
    .map((l) => l.trim())
    .find(Boolean);
  return `${line} failed (exit ${result.exitCode})${why ? `: ${why}` : ""}`;
}
