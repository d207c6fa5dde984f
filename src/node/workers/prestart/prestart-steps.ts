// The prestart steps and their order: what runs before every start of a worker (the first, a
// restart, a replacement), each preparing one thing and contributing its part of the launch
// (prestart-step.ts). Kept apart from the controller that runs them so that the order, which
// matters (content before mounts, mounts and port before the environment), is stated in one place.
import type { WorkerDeps } from "../worker-deps.ts";
import { artifactsStep } from "./artifacts-step.ts";
import { configContentStep } from "./config-content-step.ts";
import { envStep } from "./env-step.ts";
import { imageStep } from "./image-step.ts";
import { kubeApiStep } from "./kube-api-step.ts";
import { mountsStep } from "./mounts-step.ts";
import { portStep } from "./port-step.ts";
import type { PrestartStep } from "./prestart-step.ts";
import { workerDirStep } from "./worker-dir-step.ts";

/** The prestart steps, in the order they run before every start. */
export function prestartSteps(deps: WorkerDeps): PrestartStep[] {
  return [
    workerDirStep(),
    configContentStep(deps.configFiles),
    artifactsStep(deps.artifacts),
    imageStep(deps),
    mountsStep(deps),
    portStep(deps.ports),
    kubeApiStep(deps),
    envStep(deps),
  ];
}
