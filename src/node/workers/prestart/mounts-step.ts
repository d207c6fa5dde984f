// Prestart step 4: the template's mounts as paths on this node (hostPath checked, Config files
// written, artifacts linked, shared directories created; see mount-resolver.ts), and the mount
// envName variables. Also what a change of live mounts' content runs again, followed by the
// signal their changeMode names (no restart).
import type { Template } from "../../../manifest/template.ts";
import { type DesiredWorker, isLive } from "../desired.ts";
import type { Instance } from "../drivers/driver.ts";
import type { ArtifactSource } from "./mount-resolver.ts";
import { type ConfigFiles, changeSignal, type ResolvedMounts, resolveMounts } from "./mount-resolver.ts";
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
      return { mounts: resolved.mounts, mountEnv: resolved.env };
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
  });
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
