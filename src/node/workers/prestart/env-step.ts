// Prestart step 8, the last: the instance's complete environment (see worker-env.ts), from the
// template, what the agent injects, the port and the mount variables the steps before found.
// Command health checks on the host see the same variables (instanceEnv, without the mounts').
import { serviceAccountDir } from "../../kube-access/service-account-files.ts";
import type { DesiredWorker } from "../desired.ts";
import { workerDir } from "../worker-dirs.ts";
import type { PrestartStep } from "./prestart-step.ts";
import { workerEnv } from "./worker-env.ts";

export function envStep(ctx: EnvContext): PrestartStep {
  return {
    name: "env",
    async prestart({ desired, instance, launch }) {
      return { env: instanceEnv(ctx, desired, instance, launch.port, launch.mountEnv) };
    },
  };
}

/** What the agent knows that a worker's environment needs. */
export interface EnvContext {
  node: string;
  dataDir: string;
  agentUrl: string;
  proxy?: { url: string; host: string } | undefined;
  /** This agent's Kubernetes API, for workers with kubeApi. */
  kubeAccess?: { host: string; port: number } | undefined;
}

/** The environment of one instance of a desired worker. */
export function instanceEnv(
  ctx: EnvContext,
  desired: DesiredWorker,
  instance: string,
  port: number | undefined,
  mountEnv: Record<string, string>,
): Record<string, string> {
  const { template } = desired;
  const dir = workerDir(ctx.dataDir, desired.service, desired.index);
  const kube = template.kubeApi ? ctx.kubeAccess : undefined;
  return workerEnv({
    templateEnv: template.env,
    node: ctx.node,
    service: desired.service,
    index: desired.index,
    instance,
    workerDir: dir,
    agentUrl: ctx.agentUrl,
    port,
    mountEnv,
    proxy: template.meshProxy ? ctx.proxy : undefined,
    agentUrlEnv: template.agentUrlEnv,
    portEnv: template.portEnv,
    kube: kube && {
      host: kube.host,
      port: kube.port,
      accountDir: template.driver === "exec" ? serviceAccountDir(dir) : undefined,
    },
  });
}
