// Prestart step 5: the template's mounts as paths on this node (hostPath checked, Config and
// Secret files written, artifacts linked, shared directories created; see mount-resolver.ts), and the mount
// envName variables and the secretEnv values. Also what a change of live mounts' content runs again, followed by the
// signal their changeMode names (no restart).
import { secretPlanKey } from "../../../manifest/secret.ts";
import type { Template } from "../../../manifest/template.ts";
import { type DesiredWorker, isLive } from "../desired.ts";
import { type Instance, WorkerSpecError } from "../drivers/driver.ts";
import { resolveIds } from "../drivers/system-users.ts";
import type { ArtifactSource, FileOwner, MountContext } from "./mount-resolver.ts";
import {
  type ConfigFiles,
  changeSignal,
  type ResolvedMounts,
  readConfigFile,
  resolveMounts,
} from "./mount-resolver.ts";
import type { PrestartStep } from "./prestart-step.ts";

export interface MountsStepDeps {
  dataDir: string;
  configFiles: ConfigFiles | undefined;
  artifacts: ArtifactSource | undefined;
}

export function mountsStep(deps: MountsStepDeps): PrestartStep {
  return {
    name: "mounts",
    async prestart({ desired, workerDir, signal }) {
      const resolved = await workerMounts(deps, desired, workerDir, signal);
      const secrets = await secretEnv(desired, { configFiles: deps.configFiles, signal });
      return { mounts: resolved.mounts, mountEnv: { ...resolved.env, ...secrets } };
    },
  };
}

/** The desired worker's mounts, resolved (files written) on this node. */
export function workerMounts(
  deps: MountsStepDeps,
  desired: DesiredWorker,
  workerDir: string,
  signal: AbortSignal,
): Promise<ResolvedMounts> {
  const { template } = desired;
  return resolveMounts(template, {
    dataDir: deps.dataDir,
    workerDir,
    container: template.driver === "container",
    configs: desired.configs,
    configFiles: deps.configFiles,
    artifacts: deps.artifacts,
    signal,
    owner: secretOwner(template),
  });
}

/** The values of the template's secretEnv (UTF-8 text of each Secret key). */
export async function secretEnv(
  desired: DesiredWorker,
  ctx: Pick<MountContext, "configFiles" | "signal">,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [name, { secret, key }] of Object.entries(desired.template.secretEnv ?? {})) {
    const where = `secretEnv.${name}`;
    const refs = desired.configs[secretPlanKey(secret)];
    if (!refs) throw new WorkerSpecError(`${where}: Secret ${secret} does not exist`);
    const ref = Object.hasOwn(refs, key) ? refs[key] : undefined;
    if (!ref) throw new WorkerSpecError(`${where}: Secret ${secret} has no key ${JSON.stringify(key)}`);
    const value = new TextDecoder("utf-8", { fatal: false }).decode(
      await readConfigFile(ctx, ref, where, true),
    );
    if (value.includes("\0"))
      throw new WorkerSpecError(`${where}: the value of ${secret}/${key} contains a NUL byte`);
    env[name] = value;
  }
  return env;
}

/**
 * Who owns a Secret's files: the worker's user and group when it has them and the agent runs as
 * root (else the agent's user, and mode 0400 leaves them to workers of that user).
 */
export function secretOwner(template: Pick<Template, "user" | "group">): FileOwner | undefined {
  if ((template.user === undefined && template.group === undefined) || process.getuid?.() !== 0)
    return undefined;
  const ids = resolveIds(template.user, template.group);
  if ("error" in ids) return undefined;
  return { uid: ids.uid ?? 0, gid: ids.gid ?? 0 };
}

/** After live mounts were rewritten: sends the instance the signals their changeMode names. */
export async function signalLiveMounts(
  template: Template,
  instance: Pick<Instance, "signal"> | undefined,
): Promise<string[]> {
  const signals = [...new Set(template.mounts.filter(isLive).flatMap((m) => changeSignal(m) ?? []))];
  for (const signal of signals) await instance?.signal(signal);
  return signals;
}
