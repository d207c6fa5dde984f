// Turns a template's `mounts:` into paths on this node before a worker starts (and again when
// the content of a live mount changes): hostPath is checked against its pathType, config and
// secret files are written atomically (temp file + rename, with the mount's mode), artifacts are fetched into
// the node's cache and hard-linked into the worker's mount directory, shared directories are
// created under <data-dir>/shared. A mount that cannot be provided is a WorkerSpecError naming
// the mount and the cause; the worker fails, other workers are unaffected.

import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from "node:fs";
import { constants as osConstants } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { ArtifactRef } from "../../../manifest/artifact.ts";
import type { Mount } from "../../../manifest/mounts.ts";
import { type FilesMount, filesMount, mountSource } from "../../../manifest/mounts.ts";
import type { ConfigFileRef, NodePlan } from "../../../manifest/plan.ts";
import type { Template } from "../../../manifest/template.ts";
import { describeError } from "../../../runtime/errors.ts";
import { type ResolvedMount, WorkerSpecError } from "../drivers/driver.ts";

export interface ArtifactSource {
  /** The absolute path of the verified blob, fetched if needed. */
  ensure(
    ref: ArtifactRef,
    options?: { signal?: AbortSignal; onProgress?: (progress: ArtifactProgress) => void },
  ): Promise<string>;
}

/** How far a download is (the artifact cache reports it while bytes flow). */
export interface ArtifactProgress {
  received: number;
  total: number | undefined;
}

/** The bytes of Config files, by the reference the plan carries (src/node/configs/config-content.ts). */
export interface ConfigFiles {
  /** `secret`: a Secret's value (its hash is not logged). */
  read(
    ref: ConfigFileRef,
    options?: { signal?: AbortSignal | undefined; secret?: boolean | undefined },
  ): Promise<Uint8Array>;
}

export interface MountContext {
  dataDir: string;
  workerDir: string;
  container: boolean;
  configs: NodePlan["configFiles"];
  configFiles: ConfigFiles | undefined;
  artifacts: ArtifactSource | undefined;
  signal?: AbortSignal | undefined;
  /** Who owns a Secret's files (the worker's user, when the agent runs as root and may chown). */
  owner?: FileOwner | undefined;
}

export interface FileOwner {
  uid: number;
  gid: number;
}

export interface ResolvedMounts {
  mounts: ResolvedMount[];
  /** envName → the path as the worker sees it. */
  env: Record<string, string>;
}

export function hasArtifacts(template: Template): boolean {
  return template.mounts.some((m) => m.artifact !== undefined);
}

export async function resolveMounts(template: Template, ctx: MountContext): Promise<ResolvedMounts> {
  const mounts: ResolvedMount[] = [];
  const env: Record<string, string> = {};
  for (const [i, mount] of template.mounts.entries()) {
    const where = `mounts[${i}]`;
    checkChangeMode(mount, where);
    const resolved = await resolveOne(mount, i, where, ctx);
    mounts.push({ hostPath: resolved.dir, target: mount.target, readOnly: resolved.readOnly });
    if (mount.envName !== undefined) {
      const seen = ctx.container && mount.target !== undefined ? mount.target : resolved.dir;
      env[mount.envName] = resolved.file === undefined ? seen : join(seen, resolved.file);
    }
  }
  return { mounts, env };
}

interface One {
  /** The host path that is mounted (a directory, or a hostPath of any type). */
  dir: string;
  /** For an artifact: the file's name inside dir. */
  file?: string;
  readOnly: boolean;
}

async function resolveOne(mount: Mount, i: number, where: string, ctx: MountContext): Promise<One> {
  const source = mountSource(mount);
  switch (source.kind) {
    case "hostPath": {
      const { path, prefix, pathType } = source.hostPath;
      const full = isAbsolute(path) ? path : join(prefix ?? "/", path);
      checkPathType(full, pathType, `${where}.hostPath`);
      return { dir: full, readOnly: mount.readOnly ?? false };
    }
    case "config":
    case "secret":
      return resolveFiles(mount, i, where, ctx);
    case "artifact": {
      if (!ctx.artifacts) throw new WorkerSpecError(`${where}.artifact: this agent has no artifact cache`);
      const ref = source.artifact;
      const blob = await ensureArtifact(ctx.artifacts, ref, where, ctx.signal);
      const dir = join(ctx.workerDir, "mounts", String(i));
      const file = source.artifact.path ?? ref.name ?? ref.sha256;
      linkAtomically(blob, insideDir(dir, file, `${where}.artifact`));
      removeOthers(dir, new Set([file]));
      return { dir, file, readOnly: mount.readOnly ?? true };
    }
    case "shared": {
      const dir = join(ctx.dataDir, "shared", source.shared.name);
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      chmodSync(dir, 0o777 | 0o1000);
      return { dir, readOnly: mount.readOnly ?? false };
    }
  }
}

/**
 * A config or secret mount: the object's files written atomically with the mount's mode into the
 * worker's mount directory (a Secret's owned by the worker's user, so that mode 0400 lets it read).
 */
async function resolveFiles(mount: Mount, i: number, where: string, ctx: MountContext): Promise<One> {
  const files = filesMount(mountSource(mount)) as FilesMount;
  const at = `${where}.${files.field}`;
  const refs = ctx.configs[files.planName];
  if (!refs) throw new WorkerSpecError(`${at}: ${files.label} does not exist`);
  const dir = join(ctx.workerDir, "mounts", String(i));
  const mode = Number.parseInt(files.mode, 8);
  const owner = files.field === "secret" ? ctx.owner : undefined;
  const wanted = new Set<string>();
  for (const item of configItems(files, refs)) {
    const ref = Object.hasOwn(refs, item.key) ? refs[item.key] : undefined;
    if (ref === undefined)
      throw new WorkerSpecError(
        `${at}: ${files.label} has no ${files.field === "secret" ? "key" : "file"} ${JSON.stringify(item.key)}`,
      );
    const bytes = await readConfigFile(ctx, ref, `${at} ${files.name}/${item.key}`, files.field === "secret");
    writeAtomically(insideDir(dir, item.path, `${at}.items`), bytes, mode, owner);
    wanted.add(item.path);
  }
  removeOthers(dir, wanted);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return { dir, readOnly: mount.readOnly ?? true };
}

/** The files a config mount shows: its items, or every file of the Config under its own name. */
export function configItems(
  mount: { items?: { key: string; path: string }[] | undefined },
  config: Record<string, ConfigFileRef>,
): { key: string; path: string }[] {
  return mount.items ?? Object.keys(config).map((key) => ({ key, path: key }));
}

/** The cached blob of an artifact mount (fetched if needed); a failure names the mount. */
export async function ensureArtifact(
  artifacts: ArtifactSource,
  ref: ArtifactRef,
  where: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  try {
    return await artifacts.ensure(ref, { signal });
  } catch (err) {
    throw new WorkerSpecError(`${where}.artifact ${ref.name ?? ref.sha256}: ${describeError(err)}`);
  }
}

/** One Config file's verified bytes; a failure (other than an abort) names the mount and file. */
export async function readConfigFile(
  ctx: Pick<MountContext, "configFiles" | "signal">,
  ref: ConfigFileRef,
  what: string,
  secret = false,
): Promise<Uint8Array> {
  if (!ctx.configFiles) throw new WorkerSpecError(`${what}: this agent cannot fetch Config content`);
  try {
    return await ctx.configFiles.read(ref, { signal: ctx.signal, secret });
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    throw new WorkerSpecError(`${what}: ${describeError(err)}`);
  }
}

/** signal:NAME must name a signal this system knows. */
export function changeSignal(mount: Mount): string | undefined {
  if (!mount.changeMode?.startsWith("signal:")) return undefined;
  const name = mount.changeMode.slice("signal:".length);
  return name.startsWith("SIG") ? name : `SIG${name}`;
}

function checkChangeMode(mount: Mount, where: string): void {
  const signal = changeSignal(mount);
  if (signal !== undefined && !(signal in osConstants.signals)) {
    throw new WorkerSpecError(
      `${where}.changeMode: ${signal} is not a signal name on this system (e.g. SIGHUP)`,
    );
  }
}

const TYPE_CHECKS: Record<string, { test: (s: Stats) => boolean; what: string }> = {
  Directory: { test: (s) => s.isDirectory(), what: "a directory" },
  DirectoryOrCreate: { test: (s) => s.isDirectory(), what: "a directory" },
  File: { test: (s) => s.isFile(), what: "a file" },
  FileOrCreate: { test: (s) => s.isFile(), what: "a file" },
  Socket: { test: (s) => s.isSocket(), what: "a unix socket" },
  CharDevice: { test: (s) => s.isCharacterDevice(), what: "a character device" },
  BlockDevice: { test: (s) => s.isBlockDevice(), what: "a block device" },
};

export function checkPathType(path: string, pathType: string | undefined, where: string): void {
  if (pathType === undefined) return;
  if (!existsSync(path)) {
    if (pathType === "DirectoryOrCreate") {
      mkdirSync(path, { recursive: true, mode: 0o755 });
      return;
    }
    if (pathType === "FileOrCreate") {
      if (!existsSync(dirname(path))) {
        throw new WorkerSpecError(`${where}: cannot create ${path}: its directory does not exist`);
      }
      closeSync(openSync(path, "a", 0o644));
      return;
    }
    throw new WorkerSpecError(`${where}: ${path} does not exist (pathType ${pathType})`);
  }
  const check = TYPE_CHECKS[pathType];
  if (check && !check.test(statSync(path))) {
    throw new WorkerSpecError(`${where}: ${path} is not ${check.what} (pathType ${pathType})`);
  }
}

/**
 * `name` (a relative path) under `dir`, refusing whatever would leave it: an absolute path, `..`, or a directory
 * on the way that is a symlink out (a worker can write into its own mount directories). The
 * manifest schema already refuses such names; this is the second lock, for any plan this agent is
 * given. Creates the directories on the way.
 */
function insideDir(dir: string, name: string, where: string): string {
  const full = resolve(dir, name);
  const problem =
    name === "" || name.includes("\0") || isAbsolute(name) || !isInside(dir, full)
      ? `${JSON.stringify(name)} is not a path inside the mount directory`
      : undefined;
  if (problem) throw new WorkerSpecError(`${where}: ${problem}`);
  mkdirSync(dirname(full), { recursive: true });
  const parent = realpathSync(dirname(full));
  if (parent !== realpathSync(dir) && !isInside(realpathSync(dir), parent)) {
    throw new WorkerSpecError(
      `${where}: ${JSON.stringify(name)} leads out of the mount directory through a symlink`,
    );
  }
  return full;
}

/** Whether `path` is strictly below `dir`. */
function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), path);
  return rel !== "" && rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
}

function writeAtomically(path: string, bytes: Uint8Array, mode: number, owner?: FileOwner): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.levee-tmp`;
  writeFileSync(temp, bytes, { mode });
  chmodSync(temp, mode);
  if (owner) chownSync(temp, owner.uid, owner.gid);
  renameSync(temp, path);
}

function linkAtomically(blob: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.levee-tmp`;
  rmSync(temp, { force: true });
  linkSync(blob, temp);
  renameSync(temp, path);
}

/** Removes files of a mount directory that are no longer part of it (top level only). */
function removeOthers(dir: string, wanted: ReadonlySet<string>): void {
  const tops = new Set([...wanted].map((p) => p.split("/")[0]));
  for (const entry of readdirSync(dir)) {
    if (!tops.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}
