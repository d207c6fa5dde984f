// Prestart step 2: the content of the Config and Secret files the worker's mounts (and its
// secretEnv) show is on this node.
// The plan carries only references (sha256, size); content not held yet is fetched from the
// cloud and verified here, while the worker's status says which Configs it waits for. A worker
// never starts with unverified or partial content. A Config or file the plan does not name is
// left to the mounts step, which says which mount asks for it.
import { filesMount, mountSource } from "../../../manifest/mounts.ts";
import type { ConfigFileRef } from "../../../manifest/plan.ts";
import { secretOfPlanKey } from "../../../manifest/secret.ts";
import type { DesiredWorker } from "../desired.ts";
import { type ConfigFiles, configItems, readConfigFile } from "./mount-resolver.ts";
import type { PrestartStep } from "./prestart-step.ts";

/** Config content by reference; missing() tells what is not on this node yet. */
export type ConfigContentSource = ConfigFiles & { missing(refs: readonly ConfigFileRef[]): ConfigFileRef[] };

export function configContentStep(source: ConfigContentSource | undefined): PrestartStep {
  return {
    name: "config-content",
    async prestart({ desired, signal, waiting }) {
      if (!source) return {};
      const message = missingConfigs(desired, source);
      if (message === undefined) return {};
      waiting(message);
      for (const [i, mount] of desired.template.mounts.entries()) {
        const from = filesMount(mountSource(mount));
        if (!from) continue;
        const config = desired.configs[from.planName];
        if (!config) continue;
        for (const item of configItems(from, config)) {
          const ref = Object.hasOwn(config, item.key) ? config[item.key] : undefined;
          if (ref === undefined || source.missing([ref]).length === 0) continue;
          const what = `mounts[${i}].${from.field} ${from.name}/${item.key}`;
          await readConfigFile({ configFiles: source, signal }, ref, what, from.field === "secret");
        }
      }
      return {};
    },
  };
}

/** What the worker waits for when some of its Configs' content is not on this node yet. */
export function missingConfigs(desired: DesiredWorker, source: ConfigContentSource): string | undefined {
  const names = Object.entries(desired.configs)
    .filter(([, files]) => source.missing(Object.values(files)).length > 0)
    .map(([name]) => {
      const secret = secretOfPlanKey(name);
      return secret === undefined ? `Config ${name}` : `Secret ${secret}`;
    });
  if (names.length === 0) return undefined;
  return `waiting for the content of ${names.join(", ")} from the cloud (verified by sha256 before the worker starts)`;
}
