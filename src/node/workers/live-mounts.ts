// Refreshing a running worker's mounted files in place: when only the content of Config or artifact
// mounts with changeMode signal:NAME or none changed, the files are rewritten in the worker's
// directory and the instance is sent its signal, with no restart. Apart from worker-controller.ts
// because it is the one thing done to a running instance that is neither a start nor a stop.
import { describeError } from "../../runtime/errors.ts";
import type { DesiredWorker } from "./desired.ts";
import type { Instance } from "./drivers/driver.ts";
import { signalLiveMounts, workerMounts } from "./prestart/mounts-step.ts";
import type { WorkerDeps } from "./worker-deps.ts";
import { workerDir } from "./worker-dirs.ts";
import type { WorkerState } from "./worker-state.ts";

/**
 * Rewrites `desired`'s mounted files, then (`written`) signals the instance running then. A
 * failure shows in the status message (the worker keeps running); an aborted refresh does nothing.
 */
export async function refreshMountedFiles(
  deps: WorkerDeps,
  status: WorkerState,
  desired: DesiredWorker,
  signal: AbortSignal,
  hooks: { written: () => void; instance: () => Instance | undefined },
): Promise<void> {
  const dir = workerDir(deps.dataDir, desired.service, desired.index);
  try {
    await workerMounts(deps, desired, dir, signal);
  } catch (err) {
    if (signal.aborted) return;
    const message = `cannot refresh mounted files: ${describeError(err)}`;
    status.phase(status.record.phase, message, { ready: status.record.ready });
    return;
  }
  hooks.written();
  const signals = await signalLiveMounts(desired.template, hooks.instance());
  deps.log.info("mounted files refreshed", { worker: desired.key, signals });
}
