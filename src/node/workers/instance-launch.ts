// One start of a worker: its prestart steps in order (each contributing its part of the launch),
// then the record written before the driver starts anything (the instance id, so that a crash
// right after the launch leaves a row from which the next agent finds the instance, or knows to
// look for an orphan), the driver's start, and the record completed with what the driver
// returned (pid, container).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Template } from "../../manifest/template.ts";
import type { DesiredWorker } from "./desired.ts";
import type { Driver, Instance } from "./drivers/driver.ts";
import { instancePrefix } from "./drivers/exec-driver.ts";
import { CURRENT_LOG, workerLogDir } from "./logs/log-files.ts";
import { type PrestartStep, runPrestart } from "./prestart/prestart-step.ts";
import { workerDir } from "./worker-dirs.ts";
import type { WorkerState } from "./worker-state.ts";

export interface LaunchDeps {
  node: string;
  dataDir: string;
  agentId: string;
  driver(name: Template["driver"]): Driver;
}

export interface Started {
  instance: Instance;
  port: number | undefined;
}

/**
 * Starts an instance of `desired`; undefined when the signal aborted the start on the way.
 * Throws what a step or the driver threw (a WorkerSpecError: the spec cannot run as written).
 */
export async function launchInstance(
  deps: LaunchDeps,
  steps: readonly PrestartStep[],
  state: WorkerState,
  desired: DesiredWorker,
  signal: AbortSignal,
): Promise<Started | undefined> {
  const { template } = desired;
  const instance = `${instancePrefix(deps.agentId)}${randomUUID()}`;
  const dir = workerDir(deps.dataDir, desired.service, desired.index);
  // The restart request is served by this attempt, whether or not it starts (a failed start backs
  // off; the next plan with the same count does not cut the backoff short).
  state.update({ generation: desired.generation, restartRequest: desired.restartRequest });
  const launch = await runPrestart(steps, {
    desired,
    instance,
    workerDir: dir,
    heldPort: state.record.port ?? undefined,
    signal,
    waiting: (message) => state.phase("fetching", message, { ready: false }),
  });
  if (!launch) return undefined;
  state.update({
    generation: desired.generation,
    specHash: desired.specHash,
    driver: template.driver,
    instance,
    pid: null,
    pidStart: null,
    containerId: null,
    port: launch.port ?? null,
  });
  state.phase("starting", "starting", { ready: false });
  const started = await deps.driver(template.driver).start({
    key: { node: deps.node, service: desired.service, index: desired.index, instance },
    template,
    env: launch.env,
    workerDir: dir,
    logFile: join(workerLogDir(deps.dataDir, desired.service, desired.index), CURRENT_LOG),
    mounts: launch.mounts,
    serviceAccountDir: launch.serviceAccountDir,
    port: launch.port,
    agentId: deps.agentId,
  });
  state.update({
    pid: started.ref.pid ?? null,
    pidStart: started.ref.pidStart ?? null,
    containerId: started.ref.containerId ?? null,
    startedAt: new Date().toISOString(),
    exitCode: null,
    signal: null,
  });
  return { instance: started, port: launch.port };
}
