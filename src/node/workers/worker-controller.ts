// One worker's life on this node, as a state machine. Its states are the phases of its status;
// the events that move it are the ones handle() takes, one at a time, in the order they happen:
//
//   pending ──▶ [prestart] ──▶ starting ──driver started──▶ running ◀──health check──▶ ready
//                  └─ fetching: waits for Config content, downloads artifacts and images
//
//   [prestart] or start failed:  WorkerSpecError ──▶ failed  ──30 s──▶ [prestart]
//                                other error     ──▶ backoff ──delay─▶ [prestart]
//   running|ready ──exit──▶ restart policy:  backoff ──delay──▶ [prestart]  |  stopped | failed
//      (quick exits in a row double the delay: a crash loop, which the message says)
//   running|ready ──liveness failure──▶ stopped, then as an exit that failed
//   running|ready ──new spec──▶ replace: stopped ──▶ [prestart]
//                               surge:   [prestart] the new one ──▶ it is ready (or
//                                        SURGE_READY_MS passed) ──▶ the old one stopped
//   running|ready ──live mounts' content──▶ files rewritten, signal sent (no restart)
//   any state ──restart requested (another count in the plan)──▶ stopped ──▶ [prestart] now, backoff reset
//   boot (agent start), the stored instance:  runs the desired spec ──▶ adopted: running|ready
//                                             runs an older spec or count ──▶ stopped ──▶ [prestart]
//                                             ended meanwhile ──▶ as an exit (another count: [prestart])
//                                             none ──▶ [prestart]
//   any state ──removed──▶ stopped, forgotten;  agent shutdown ──▶ detached (left running)
//
// Where each event leads is decided in worker-transitions.ts (pure); this file carries it out.
// [prestart] is the steps prestartSteps() (prestart/prestart-steps.ts) lists, in that order, each contributing its part of
// the launch (prestart/). One event at a time: a worker never has two operations in flight; a
// long prestart (a download) is aborted by a removal or a newer spec.
import { durationMs } from "../../manifest/duration.ts";
import { describeError } from "../../runtime/errors.ts";
import type { DesiredWorker } from "./desired.ts";
import type { ExitInfo, Instance } from "./drivers/driver.ts";
import { launchInstance } from "./instance-launch.ts";
import { refreshMountedFiles } from "./live-mounts.ts";
import { workerLogDir } from "./logs/log-files.ts";
import type { PrestartStep } from "./prestart/prestart-step.ts";
import { prestartSteps } from "./prestart/prestart-steps.ts";
import { commandRunner, type Running, watchInstance } from "./running-instance.ts";
import type { WorkerDeps } from "./worker-deps.ts";
import { removeWorkerDir } from "./worker-dirs.ts";
import { refOf } from "./worker-records.ts";
import { WorkerState } from "./worker-state.ts";
import type { WorkerRecord } from "./worker-store.ts";
import {
  afterExit,
  afterStartError,
  bootAction,
  changeAction,
  type ExitFacts,
  type Outcome,
  SURGE_READY_MS,
} from "./worker-transitions.ts";

/** What happens to a worker; each is handled in turn by handle(). */
type WorkerEvent =
  | { kind: "boot" }
  | { kind: "desired"; desired: DesiredWorker; specChanged: boolean }
  | { kind: "retry" }
  | { kind: "exited"; instance: Instance; exit: ExitInfo }
  | { kind: "unhealthy"; instance: Instance; detail: string }
  | { kind: "remove" }
  | { kind: "stop" };

export class WorkerController {
  private readonly prestart: readonly PrestartStep[];
  private readonly status: WorkerState;
  private queue: Promise<void> = Promise.resolve();
  private running: Running | undefined;
  /** The scheduled restart (backoff, or a spec error's slow retry). */
  private retry: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | undefined;
  private quickExits = 0;
  private closed = false;
  private filesHash = "";
  /** The container of the current or last instance: its log outlives it until the next start. */
  private lastContainer: string | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    private desired: DesiredWorker,
    record: WorkerRecord,
  ) {
    this.prestart = prestartSteps(deps);
    this.status = new WorkerState(record, deps);
  }

  get key(): string {
    return this.desired.key;
  }

  get lastContainerId(): string | undefined {
    return this.record.containerId ?? this.lastContainer;
  }

  get desiredWorker(): DesiredWorker {
    return this.desired;
  }

  get state(): WorkerRecord {
    return this.record;
  }

  private get record(): WorkerRecord {
    return this.status.record;
  }

  /** After an agent restart: adopt the stored instance if it still runs, else start per policy. */
  boot(): Promise<void> {
    return this.post({ kind: "boot" });
  }

  /** A new plan: start, replace, restart, refresh live mounts, or nothing. */
  setDesired(desired: DesiredWorker): Promise<void> {
    const specChanged = desired.specHash !== this.desired.specHash;
    // A start in progress (a download) for the old spec, or before a requested restart, is dropped.
    if (specChanged || desired.restartRequest !== this.desired.restartRequest) this.abort?.abort();
    this.desired = desired;
    return this.post({ kind: "desired", desired, specChanged });
  }

  /** The worker left the plan: stop it, forget it, free its port and directory. */
  remove(): Promise<void> {
    this.abort?.abort();
    return this.post({ kind: "remove" });
  }

  /** Agent shutdown: stop watching, leave the instance running (it is adopted at the next start). */
  detach(): void {
    this.close();
    this.running?.health?.stop();
    this.running = undefined; // its exit is no longer this agent's to handle
  }

  /** Stops the instance too (levee demo, tests). */
  async stopAndDetach(): Promise<void> {
    this.close();
    await this.post({ kind: "stop" });
  }

  /** No more starts: an in-flight prestart is aborted, a scheduled restart cancelled. */
  private close(): void {
    this.closed = true;
    this.abort?.abort();
    this.cancelRetry();
  }

  private post(event: WorkerEvent): Promise<void> {
    const run = this.queue
      .then(() => this.handle(event))
      .catch((err: unknown) => {
        this.deps.log.error("worker operation failed", { worker: this.key, error: describeError(err) });
      });
    this.queue = run;
    return run;
  }

  /** The transitions: every event, and what it leads to. */
  private async handle(event: WorkerEvent): Promise<void> {
    switch (event.kind) {
      case "boot":
        return this.onBoot();
      case "desired":
        return this.onDesired(event.desired, event.specChanged);
      case "retry":
        return this.launch();
      case "exited":
        return this.onExited(event.instance, event.exit);
      case "unhealthy":
        return this.onUnhealthy(event.instance, event.detail);
      case "remove":
        return this.onRemove();
      case "stop":
        return this.stopRunning("the agent is stopping its workers");
    }
  }

  private async onBoot(): Promise<void> {
    const ref = refOf(this.record, this.deps.node);
    const found = ref
      ? await this.deps
          .driver(this.record.driver)
          .adopt(ref)
          .catch(() => undefined)
      : undefined;
    const sameSpec = this.record.specHash === this.desired.specHash;
    const restartRequested = this.record.restartRequest !== this.desired.restartRequest;
    const facts = { stored: ref !== undefined, found: found !== undefined, sameSpec, restartRequested };
    switch (bootAction(facts)) {
      case "adopt":
        this.deps.log.info("adopted running worker", {
          worker: this.key,
          pid: ref?.pid,
          container: ref?.containerId,
        });
        this.filesHash = this.desired.filesHash;
        if (this.record.generation !== this.desired.generation)
          this.status.update({ generation: this.desired.generation });
        this.watch(found as Instance, this.record.port ?? undefined);
        return;
      case "replace":
        this.running = { instance: found as Instance, health: undefined, startedAt: Date.now() };
        await this.stopRunning(
          `${sameSpec ? "a restart was requested" : "its spec changed"} while the agent was down`,
        );
        return this.launch();
      case "lost": {
        this.status.clearInstance();
        const ranMs = this.record.startedAt ? Date.now() - Date.parse(this.record.startedAt) : 0;
        return this.ended({ exit: { exitCode: null, signal: null }, ranMs, failed: false });
      }
      case "start":
        if (ref) this.status.clearInstance(); // it ended while the agent was down
        return this.launch();
    }
  }

  private async onDesired(desired: DesiredWorker, specChanged: boolean): Promise<void> {
    if (this.desired !== desired) return; // a newer spec came meanwhile: its own event follows
    const action = changeAction(desired, {
      running: this.running !== undefined,
      retryPending: this.retry !== undefined,
      specChanged,
      runningSpecHash: this.record.specHash,
      runningFilesHash: this.filesHash,
      startedRestartRequest: this.record.restartRequest,
    });
    switch (action) {
      case "start":
        this.cancelRetry();
        return this.launch();
      case "wait":
        return;
      case "replace":
      case "restart":
        await this.stopRunning(action === "restart" ? "a restart was requested" : "its spec changed");
        this.cancelRetry(); // restart: a scheduled one (backoff) is replaced by this start
        this.quickExits = 0;
        return this.launch();
      case "surge":
        return this.surge();
      case "refresh":
        await this.refreshLiveMounts();
        break;
      case "keep":
        break;
    }
    // The service changed elsewhere (another worker entry): this worker runs the new generation as it is.
    if (this.record.generation !== desired.generation) {
      this.status.update({ generation: desired.generation });
      this.status.report();
    }
  }

  private async onExited(instance: Instance, exit: ExitInfo): Promise<void> {
    const running = this.running;
    if (running?.instance !== instance) return; // stopped on purpose, or replaced
    this.running = undefined;
    running.health?.stop();
    this.status.clearInstance();
    this.deps.log.info("worker exited", { worker: this.key, ...exit });
    this.ended({ exit, ranMs: Date.now() - running.startedAt, failed: false });
  }

  private async onUnhealthy(instance: Instance, detail: string): Promise<void> {
    const running = this.running;
    if (running?.instance !== instance) return;
    this.deps.log.warn("liveness check failed: restarting worker", { worker: this.key, detail });
    await this.stopRunning(`liveness check failed: ${detail}`);
    const exit = { exitCode: null, signal: null, reason: `liveness: ${detail}` };
    this.ended({ exit, ranMs: Date.now() - running.startedAt, failed: true });
  }

  private async onRemove(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    await this.stopRunning("it was removed from the plan");
    this.deps.remove(this.record.service, this.record.index);
    this.deps.rotator?.unwatch(this.logDir());
    removeWorkerDir(this.deps.dataDir, this.record.service, this.record.index);
  }

  /** An instance ended (or was stopped as unhealthy): restart per policy, or stay stopped/failed. */
  private ended(facts: ExitFacts): void {
    if (this.closed) return;
    this.status.update({ exitCode: facts.exit.exitCode, signal: facts.exit.signal });
    this.settle(afterExit(this.desired.template, this.quickExits, facts));
  }

  /** Shows the outcome and, when it restarts, schedules the retry event. */
  private settle(outcome: Outcome): void {
    this.quickExits = outcome.quickExits;
    if (outcome.restart && outcome.counted) this.status.update({ restarts: this.record.restarts + 1 });
    this.status.phase(outcome.phase, outcome.message, { ready: false });
    if (!outcome.restart) return;
    this.cancelRetry();
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.post({ kind: "retry" });
    }, outcome.delayMs);
  }

  private cancelRetry(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  // What the transitions do to instances.

  /** Starts an instance (prestart steps, driver); a failure decides when to try again. */
  private async launch(): Promise<void> {
    if (this.closed) return;
    const desired = this.desired;
    const abort = new AbortController();
    this.abort = abort;
    try {
      const started = await launchInstance(this.deps, this.prestart, this.status, desired, abort.signal);
      if (!started) return;
      this.filesHash = desired.filesHash;
      this.watch(started.instance, started.port);
    } catch (err) {
      if (abort.signal.aborted) return;
      this.status.clearInstance();
      this.settle(afterStartError(desired.template, this.quickExits, err));
    }
  }

  /** From now on the instance's readiness shows in the status; its exit and liveness failures are events. */
  private watch(instance: Instance, port: number | undefined): void {
    const startedAt = this.record.startedAt ? Date.parse(this.record.startedAt) : Date.now();
    this.lastContainer = instance.ref.containerId;
    if (instance.ref.driver === "exec") this.deps.rotator?.watch(this.logDir());
    this.running = watchInstance(instance, startedAt, this.status, {
      template: this.desired.template,
      port,
      runCommand: commandRunner(instance, this.deps, this.desired, this.record),
      current: (running) => this.running === running,
      unhealthy: (detail) => void this.post({ kind: "unhealthy", instance, detail }),
      probed: (passed) => this.deps.onHealthCheck?.(passed),
      exited: (exit) => void this.post({ kind: "exited", instance, exit }),
    });
  }

  private async stopRunning(why: string): Promise<void> {
    const running = this.running;
    running?.health?.stop();
    if (!running) return;
    this.running = undefined;
    this.deps.log.info("stopping worker", { worker: this.key, why });
    await running.instance.stop(durationMs(this.desired.template.stopTimeout));
    this.status.clearInstance();
    this.status.phase("stopped", `stopped: ${why}`, { ready: false });
  }

  /** Starts the new instance first; stops the old one once the new one is ready (or gave up). */
  private async surge(): Promise<void> {
    const old = this.running as Running;
    this.running = undefined;
    // The old instance keeps its port; an auto port is handed to the new instance afresh.
    if (this.desired.template.port === "auto")
      this.status.update({ port: await this.deps.ports.reallocate(this.key) });
    await this.launch();
    const fresh = this.running as Running | undefined;
    if (fresh) await this.status.untilReady(SURGE_READY_MS, fresh.instance.exited);
    old.health?.stop();
    this.deps.log.info("surge: stopping the previous instance", {
      worker: this.key,
      pid: old.instance.ref.pid,
    });
    await old.instance.stop(durationMs(this.desired.template.stopTimeout));
  }

  /** Config/artifact content changed on mounts with changeMode signal:NAME or none (live-mounts.ts). */
  private async refreshLiveMounts(): Promise<void> {
    const desired = this.desired;
    // A removal or a replacing spec stops a refresh that waits for content.
    const abort = new AbortController();
    this.abort = abort;
    await refreshMountedFiles(this.deps, this.status, desired, abort.signal, {
      written: () => {
        this.filesHash = desired.filesHash;
      },
      instance: () => this.running?.instance,
    });
  }

  private logDir(): string {
    return workerLogDir(this.deps.dataDir, this.desired.service, this.desired.index);
  }
}
