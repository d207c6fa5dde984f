// Prestart step 6, the last: the instance's complete environment (see worker-env.ts), from the
// template, what the agent injects, the port and the mount variables the steps before found.
import { type EnvContext, instanceEnv } from "../worker-records.ts";
import type { PrestartStep } from "./prestart-step.ts";

export function envStep(ctx: EnvContext): PrestartStep {
  return {
    name: "env",
    async prestart({ desired, instance, launch }) {
      return { env: instanceEnv(ctx, desired, instance, launch.port, launch.mountEnv) };
    },
  };
}
