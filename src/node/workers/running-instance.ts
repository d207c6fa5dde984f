// A worker's instance while its controller watches it: its health check runs (ready / not ready
// show in the worker's status), liveness failures and its exit are reported to the controller,
// which turns them into events. Command checks run where the worker runs: inside the instance when the
// driver can (containers), else on the host with the worker's environment and directory.
import type { Template } from "../../manifest/template.ts";
import type { DesiredWorker } from "./desired.ts";
import type { ExitInfo, Instance } from "./drivers/driver.ts";
import { HealthLoop } from "./health/health-loop.ts";
import { type CommandRunner, hostCommandRunner } from "./health/health-probe.ts";
import { type EnvContext, instanceEnv } from "./prestart/env-step.ts";
import { inheritedEnv } from "./prestart/worker-env.ts";
import { workerDir } from "./worker-dirs.ts";
import { describeRunning } from "./worker-records.ts";
import type { WorkerState } from "./worker-state.ts";
import type { WorkerRecord } from "./worker-store.ts";

export interface Running {
  instance: Instance;
  health: HealthLoop | undefined;
  /** When it started (ms since the epoch): a long run resets the backoff. */
  startedAt: number;
}

export interface InstanceWatch {
  template: Template;
  port: number | undefined;
  runCommand: CommandRunner;
  /** Whether this instance is still the worker's current one (reports of others are ignored). */
  current(running: Running): boolean;
  unhealthy(detail: string): void;
  /** After every health probe. */
  probed?(passed: boolean): void;
  exited(exit: ExitInfo): void;
}

/**
 * Starts watching an instance: its readiness shows in the worker's status at once (ready, or
 * running until its health check passes); liveness failures and the exit are reported.
 */
export function watchInstance(
  instance: Instance,
  startedAt: number,
  status: WorkerState,
  watch: InstanceWatch,
): Running {
  const { health } = watch.template;
  const running: Running = { instance, startedAt, health: undefined };
  const noted = (message: string) => (instance.notice ? `${message}; ${instance.notice}` : message);
  if (health) {
    status.phase("running", noted(describeRunning(instance.ref)), { ready: false });
    running.health = new HealthLoop(health, watch.port, watch.runCommand, {
      ready: (ready, detail) => {
        if (!watch.current(running)) return;
        if (ready) status.phase("ready", noted("ready"), { ready: true });
        else status.phase("running", noted(`not ready: ${detail}`), { ready: false });
      },
      unhealthy: (detail) => {
        if (watch.current(running)) watch.unhealthy(detail);
      },
      probed: (passed) => watch.probed?.(passed),
    });
  } else {
    status.phase("ready", noted(describeRunning(instance.ref)), { ready: true });
  }
  void instance.exited.then((exit) => {
    if (watch.current(running)) watch.exited(exit);
  });
  return running;
}

/** Where the instance's command checks run. */
export function commandRunner(
  instance: Instance,
  ctx: EnvContext,
  desired: DesiredWorker,
  record: WorkerRecord,
): CommandRunner {
  const exec = instance.exec?.bind(instance);
  if (exec) return (command, timeoutMs) => exec(command, timeoutMs);
  const dir = workerDir(ctx.dataDir, desired.service, desired.index);
  const env = instanceEnv(ctx, desired, record.instance ?? "", record.port ?? undefined, {});
  return hostCommandRunner({ ...inheritedEnv(process.env), ...env }, desired.template.workingDir ?? dir);
}
