// The contexts of `levee ctl`: the clusters one client talks to, each a server URL and a token
// file, kept in $XDG_CONFIG_HOME/levee/ctl.yaml (default ~/.config/levee/ctl.yaml) with the name
// of the current one. Which context applies (activeContext): --context/LEVEE_CONTEXT, else the
// current one unless --data-dir is given (the cloud's own files then); flags still win over it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { DNS_SUBDOMAIN } from "../../runtime/dns-name.ts";
import { UsageError } from "../../runtime/errors.ts";
import { describeFsError } from "../../runtime/fs-errors.ts";

export interface ContextEntry {
  server?: string;
  "token-file"?: string;
}

export interface ContextsFile {
  "current-context"?: string;
  contexts: Record<string, ContextEntry>;
}

const fileSchema = z.strictObject({
  "current-context": z.string().optional(),
  contexts: z
    .record(
      z.string().regex(DNS_SUBDOMAIN, "expected a context name (lower-case letters, digits, '-', '.')"),
      z.strictObject({
        server: z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" }).optional(),
        "token-file": z.string().min(1).optional(),
      }),
    )
    .default({}),
});

/** Where the contexts are kept. */
export function contextsPath(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || "/tmp", ".config");
  return join(base, "levee", "ctl.yaml");
}

/** The contexts file, or an empty one when there is none; a broken file is a usage error. */
export function readContexts(path: string): ContextsFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return { contexts: {} };
    throw new UsageError(`cannot read ${path}: ${describeFsError(err)}`);
  }
  const { parse } = require("yaml") as typeof import("yaml");
  let value: unknown;
  try {
    value = parse(text) ?? {};
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `field ${issue.path.join(".")}: ` : "";
    throw new UsageError(`${path}: ${where}${issue?.message ?? "invalid"}`);
  }
  return parsed.data as ContextsFile;
}

/** Writes the file whole (a temporary file renamed over it); its directory is made 0700. */
export function writeContexts(path: string, file: ContextsFile): void {
  const { stringify } = require("yaml") as typeof import("yaml");
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify(file), { mode: 0o600 });
  renameSync(tmp, path);
}

export interface ActiveContext extends ContextEntry {
  name: string;
}

/** The context this command uses, or undefined (then the data dir's files and the defaults). */
export function activeContext(
  options: { context?: string | undefined; dataDir?: string | undefined },
  env: Record<string, string | undefined>,
): ActiveContext | undefined {
  const path = contextsPath(env);
  const file = readContexts(path);
  const name = options.context ?? (options.dataDir ? undefined : file["current-context"]);
  if (name === undefined) return undefined;
  const entry = Object.hasOwn(file.contexts, name) ? file.contexts[name] : undefined;
  if (!entry) throw new UsageError(`no context "${name}" in ${path}; ${knownContexts(file)}`);
  return { name, ...entry };
}

/** `contexts: a, b` or how to make one. */
export function knownContexts(file: ContextsFile): string {
  const names = Object.keys(file.contexts);
  return names.length > 0
    ? `contexts: ${names.join(", ")}`
    : "there are none (levee ctl config set-context NAME --server URL --token-file FILE)";
}
