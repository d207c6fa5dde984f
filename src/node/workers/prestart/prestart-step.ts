// The shape of a prestart step and the runner that chains them. Before every start of a worker
// (the first, a restart, a replacement) the controller runs its steps in a fixed order; each step
// prepares one thing on this node (the worker's directory, Config content, artifacts, mounts, the
// port, the environment) and contributes its part of the launch, which the next steps see. A
// step that cannot succeed as specified throws a WorkerSpecError (the worker fails with its
// message); any other error is transient (the worker backs off and tries again). A removal or a
// newer spec aborts the signal: the runner then stops between steps and returns nothing.
import type { DesiredWorker } from "../desired.ts";
import type { ResolvedMount } from "../drivers/driver.ts";

/** What the steps put together for the driver, beyond what the controller knows itself. */
export interface Launch {
  mounts: ResolvedMount[];
  /** Mount envName variables: the path as the worker sees it. */
  mountEnv: Record<string, string>;
  port: number | undefined;
  /** exec, kubeApi: the service account files to bind in the worker's own mount namespace. */
  serviceAccountDir?: string | undefined;
  /** The complete environment of the instance. */
  env: Record<string, string>;
}

export interface PrestartRequest {
  desired: DesiredWorker;
  /** This start's instance id (LEVEE_WORKER_ID). */
  instance: string;
  /** The worker's own directory under the data dir. */
  workerDir: string;
  /** The port the worker had (kept across restarts of the worker and of the agent). */
  heldPort: number | undefined;
  /** Aborted by a removal or a newer spec: a step that waits (a download) gives up. */
  signal: AbortSignal;
  /** Shows in the worker's status what it waits for (phase fetching). */
  waiting(message: string): void;
  /** What the steps before this one contributed. */
  launch: Readonly<Launch>;
}

export interface PrestartStep {
  /** For logs and errors: "config-content", "port", ... */
  readonly name: string;
  prestart(request: PrestartRequest): Promise<Partial<Launch>>;
}

/** Runs the steps in order; undefined when the signal aborted the start on the way. */
export async function runPrestart(
  steps: readonly PrestartStep[],
  request: Omit<PrestartRequest, "launch">,
): Promise<Launch | undefined> {
  let launch: Launch = { mounts: [], mountEnv: {}, port: undefined, env: {} };
  for (const step of steps) {
    if (request.signal.aborted) return undefined;
    launch = { ...launch, ...(await step.prestart({ ...request, launch })) };
  }
  return request.signal.aborted ? undefined : launch;
}
