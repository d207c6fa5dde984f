// One worker's life on this node: start (resolve mounts, pick the port, launch through its
// driver), watch (exit, health), restart per policy with backoff, replace on a spec change
// (stop-then-start, or start-then-stop with update: surge), refresh live mounts, stop on removal.
// Every operation runs through one queue, so a worker never has two operations in flight; a
// long start (an artifact download) is aborted by a removal or a newer spec. (One state machine,
// kept in one file on purpose: its transitions are easier to check side by side.)
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { durationMs, formatDuration } from "../../manifest/duration.ts";
import type { ConfigFileRef } from "../../manifest/plan.ts";
import type { Template } from "../../manifest/template.ts";
import type { WorkerStatus } from "../../protocol/messages.ts";
import type { Logger } from "../../runtime/log.ts";
import { type DesiredWorker, isLive } from "./desired.ts";
import type { Driver, ExitInfo, Instance } from "./drivers/driver.ts";
import { WorkerSpecError } from "./drivers/driver.ts";
import { instancePrefix } from "./drivers/exec-driver.ts";
import { HealthLoop } from "./health/health-loop.ts";
import { type CommandRunner, hostCommandRunner } from "./health/health-probe.ts";
import { CURRENT_LOG, workerLogDir } from "./logs/log-files.ts";
import {
  type ArtifactSource,
  type ConfigFiles,
  changeSignal,
  hasArtifacts,
  resolveMounts,
} from "./prestart/mount-resolver.ts";
import type { PortRegistry } from "./prestart/port-registry.ts";
import { inheritedEnv } from "./prestart/worker-env.ts";
import { decideRestart, describeExit } from "./restart-policy.ts";
import { removeWorkerDir, workerDir } from "./worker-dirs.ts";
import { describeRunning, instanceEnv, refOf, statusOf } from "./worker-records.ts";
import type { WorkerRecord } from "./worker-store.ts";

export interface WorkerDeps {
  node: string;
  dataDir: string;
  agentId: string;
  agentUrl: string;
  /** The mesh forward proxy, for workers with meshProxy: true. */
  proxy?: { url: string; host: string } | undefined;
  log: Logger;
  driver(name: Template["driver"]): Driver;
  ports: PortRegistry;
  artifacts: ArtifactSource | undefined;
  /** Config file content by reference; missing() tells what is not on this node yet. */
  configFiles: (ConfigFiles & { missing(refs: readonly ConfigFileRef[]): ConfigFileRef[] }) | undefined;
  rotator: { watch(dir: string): void; unwatch(dir: string): void } | undefined;
  save(record: WorkerRecord): void;
  remove(service: string, index: number): void;
  /** Phase, readiness or restarts changed. */
  changed(status: WorkerStatus, record: WorkerRecord): void;
}

/** Spec errors are retried too (an image loaded later, a directory created), but slowly. */
const SPEC_RETRY_MS = 30_000;
/** Surge: how long the new instance may take to become ready before the update is given up. */
const SURGE_READY_MS = 120_000;

export class WorkerController {
  private queue: Promise<void> = Promise.resolve();
  private current: Instance | undefined;
  private health: HealthLoop | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | undefined;
  private quickExits = 0;
  private closed = false;
  private filesHash = "";
  /** The container of the current or last instance: its log outlives it until the next start. */
  private lastContainer: string | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    private desired: DesiredWorker,
    private record: WorkerRecord,
  ) {}

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

  /** After an agent restart: adopt the stored instance if it still runs, else start per policy. */
  boot(): Promise<void> {
    return this.enqueue(async () => {
      const ref = refOf(this.record, this.deps.node);
      const instance = ref
        ? await this.deps
            .driver(this.record.driver)
            .adopt(ref)
            .catch(() => undefined)
        : undefined;
      if (instance && this.record.specHash === this.desired.specHash) {
        this.deps.log.info("adopted running worker", {
          worker: this.key,
          pid: ref?.pid,
          container: ref?.containerId,
        });
        this.filesHash = this.desired.filesHash;
        if (this.record.generation !== this.desired.generation)
          this.update({ generation: this.desired.generation });
        this.watch(instance, this.record.port ?? undefined);
        return;
      }
      if (instance) {
        this.current = instance;
        await this.stopCurrent("its spec changed while the agent was down");
      } else if (ref) {
        this.update({ instance: null, pid: null, pidStart: null, containerId: null });
        const ranMs = this.record.startedAt ? Date.now() - Date.parse(this.record.startedAt) : 0;
        this.afterExit({ exitCode: null, signal: null }, ranMs, false);
        return;
      }
      await this.startNow();
    });
  }

  /** A new plan: start, replace, refresh live mounts, or nothing. */
  setDesired(desired: DesiredWorker): Promise<void> {
    const replace = desired.specHash !== this.desired.specHash;
    if (replace) this.abort?.abort();
    this.desired = desired;
    return this.enqueue(async () => {
      if (this.desired !== desired) return;
      if (!this.current) {
        if (replace || this.timer === undefined) {
          this.clearTimer();
          await this.startNow();
        }
        return;
      }
      if (this.record.specHash !== desired.specHash) {
        await (desired.template.update === "surge" ? this.surge() : this.replace());
        return;
      }
      if (this.filesHash !== desired.filesHash) await this.refreshLiveMounts();
      // The service changed elsewhere (another worker entry): this worker runs the new generation as it is.
      if (this.record.generation !== desired.generation) {
        this.update({ generation: desired.generation });
        this.deps.changed(statusOf(this.record), this.record);
      }
    });
  }

  /** The worker left the plan: stop it, forget it, free its port and directory. */
  remove(): Promise<void> {
    this.abort?.abort();
    return this.enqueue(async () => {
      this.closed = true;
      this.clearTimer();
      await this.stopCurrent("it was removed from the plan");
      this.deps.remove(this.record.service, this.record.index);
      this.deps.rotator?.unwatch(this.logDir());
      removeWorkerDir(this.deps.dataDir, this.record.service, this.record.index);
    });
  }

  /** Agent shutdown: stop watching, leave the instance running (it is adopted at the next start). */
  detach(): void {
    this.closed = true;
    this.abort?.abort();
    this.clearTimer();
    this.health?.stop();
  }

  /** Stops the instance too (levee demo, tests). */
  async stopAndDetach(): Promise<void> {
    this.closed = true;
    this.abort?.abort();
    this.clearTimer();
    await this.enqueue(() => this.stopCurrent("the agent is stopping its workers"));
  }

  private logDir(): string {
    return workerLogDir(this.deps.dataDir, this.desired.service, this.desired.index);
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op).catch((err: unknown) => {
      this.deps.log.error("worker operation failed", { worker: this.key, error: (err as Error).message });
    });
    this.queue = run;
    return run;
  }

  private async startNow(): Promise<void> {
    if (this.closed) return;
    const desired = this.desired;
    const { template } = desired;
    const abort = new AbortController();
    this.abort = abort;
    const dir = workerDir(this.deps.dataDir, desired.service, desired.index);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    this.update({ generation: desired.generation });
    try {
      const waiting = this.missingConfigs(desired);
      if (waiting) this.phase("fetching", waiting, { ready: false });
      else if (hasArtifacts(template)) this.phase("fetching", "fetching artifacts", { ready: false });
      else this.phase("starting", "starting", { ready: false });
      const mounts = await resolveMounts(template, {
        dataDir: this.deps.dataDir,
        workerDir: dir,
        container: template.driver === "container",
        configs: desired.configs,
        configFiles: this.deps.configFiles,
        artifacts: this.deps.artifacts,
        signal: abort.signal,
      });
      if (abort.signal.aborted || this.closed) return;
      const port = await this.portFor(template);
      if (abort.signal.aborted || this.closed) return;
      const instanceId = `${instancePrefix(this.deps.agentId)}${randomUUID()}`;
      const env = instanceEnv(this.deps, desired, instanceId, port, mounts.env);
      this.update({
        generation: desired.generation,
        specHash: desired.specHash,
        driver: template.driver,
        instance: instanceId,
        pid: null,
        pidStart: null,
        containerId: null,
        port: port ?? null,
      });
      this.phase("starting", "starting", { ready: false });
      const instance = await this.deps.driver(template.driver).start({
        key: { node: this.deps.node, service: desired.service, index: desired.index, instance: instanceId },
        template,
        env,
        workerDir: dir,
        logFile: join(this.logDir(), CURRENT_LOG),
        mounts: mounts.mounts,
        port,
        agentId: this.deps.agentId,
      });
      this.filesHash = desired.filesHash;
      this.update({
        pid: instance.ref.pid ?? null,
        pidStart: instance.ref.pidStart ?? null,
        containerId: instance.ref.containerId ?? null,
        startedAt: new Date().toISOString(),
        exitCode: null,
        signal: null,
      });
      this.watch(instance, port);
    } catch (err) {
      if (abort.signal.aborted) return;
      const spec = err instanceof WorkerSpecError;
      const message = (err as Error).message;
      this.update({ instance: null, pid: null, pidStart: null, containerId: null });
      if (spec) {
        this.phase("failed", `${message}; retrying in ${formatDuration(SPEC_RETRY_MS)}`, { ready: false });
        this.schedule(SPEC_RETRY_MS);
      } else {
        this.afterStartError(message);
      }
    }
  }

  /** What the worker waits for when some of its Configs' content is not on this node yet. */
  private missingConfigs(desired: DesiredWorker): string | undefined {
    const store = this.deps.configFiles;
    if (!store) return undefined;
    const names = Object.entries(desired.configs)
      .filter(([, files]) => store.missing(Object.values(files)).length > 0)
      .map(([name]) => name);
    if (names.length === 0) return undefined;
    return `waiting for the content of Config ${names.join(", ")} from the cloud (verified by sha256 before the worker starts)`;
  }

  private async portFor(template: Template): Promise<number | undefined> {
    if (template.port === undefined) return undefined;
    if (template.port !== "auto") return template.port;
    const held = this.record.port;
    return this.deps.ports.allocate(this.key, held === null ? undefined : { port: held, held: true });
  }

  private watch(instance: Instance, port: number | undefined): void {
    this.current = instance;
    this.lastContainer = instance.ref.containerId;
    if (instance.ref.driver === "exec") this.deps.rotator?.watch(this.logDir());
    const startedAt = this.record.startedAt ? Date.parse(this.record.startedAt) : Date.now();
    const template = this.desired.template;
    if (template.health) {
      this.phase("running", describeRunning(instance.ref), { ready: false });
      this.health = new HealthLoop(template.health, port, this.commandRunner(instance), {
        ready: (ready, detail) => {
          if (this.current !== instance) return;
          if (ready) this.phase("ready", "ready", { ready: true });
          else this.phase("running", `not ready: ${detail}`, { ready: false });
        },
        unhealthy: (detail) => {
          if (this.current !== instance) return;
          this.enqueue(async () => {
            if (this.current !== instance) return;
            this.deps.log.warn("liveness check failed: restarting worker", { worker: this.key, detail });
            await this.stopCurrent(`liveness check failed: ${detail}`);
            this.afterExit(
              { exitCode: null, signal: null, reason: `liveness: ${detail}` },
              Date.now() - startedAt,
              true,
            );
          });
        },
      });
    } else {
      this.phase("ready", describeRunning(instance.ref), { ready: true });
    }
    instance.exited.then((exit) => {
      if (this.current !== instance) return;
      this.enqueue(async () => {
        if (this.current !== instance) return;
        this.current = undefined;
        this.health?.stop();
        this.update({ instance: null, pid: null, pidStart: null, containerId: null });
        this.deps.log.info("worker exited", { worker: this.key, ...exit });
        this.afterExit(exit, Date.now() - startedAt, false);
      });
    });
  }

  /** Command checks run where the worker runs: on the host for exec, in the container otherwise. */
  private commandRunner(instance: Instance): CommandRunner {
    if (instance.exec)
      return (command, timeoutMs) => (instance.exec as NonNullable<Instance["exec"]>)(command, timeoutMs);
    const { desired, record } = this;
    const dir = workerDir(this.deps.dataDir, desired.service, desired.index);
    const env = instanceEnv(this.deps, desired, record.instance ?? "", record.port ?? undefined, {});
    return hostCommandRunner({ ...inheritedEnv(process.env), ...env }, desired.template.workingDir ?? dir);
  }

  private backoff(): { initialMs: number; maxMs: number } {
    const { backoff } = this.desired.template.restart;
    return { initialMs: durationMs(backoff.initial), maxMs: durationMs(backoff.max) };
  }

  private afterExit(exit: ExitInfo, ranMs: number, failed: boolean): void {
    if (this.closed) return;
    const template = this.desired.template;
    const decision = decideRestart(
      template.restart.policy,
      this.backoff(),
      { quickExits: this.quickExits },
      {
        exit,
        ranMs,
        failed,
      },
    );
    this.quickExits = decision.quickExits;
    const what = exit.reason?.startsWith("liveness") ? exit.reason : describeExit(exit);
    this.update({ exitCode: exit.exitCode, signal: exit.signal });
    if (!decision.restart) {
      this.phase(decision.phase, `${what}; restart policy ${template.restart.policy}`, { ready: false });
      return;
    }
    this.update({ restarts: this.record.restarts + 1 });
    const next = `restarting in ${formatDuration(decision.delayMs)}`;
    const message = decision.crashLoop
      ? `crash loop: exited ${decision.quickExits} times in a row soon after starting; last: ${what}; ${next}`
      : `${what}; ${next}`;
    this.phase("backoff", message, { ready: false });
    this.schedule(decision.delayMs);
  }

  private afterStartError(message: string): void {
    const decision = decideRestart(
      "always",
      this.backoff(),
      { quickExits: this.quickExits },
      {
        exit: { exitCode: null, signal: null },
        ranMs: 0,
        failed: true,
      },
    );
    this.quickExits = decision.quickExits;
    const delay = decision.restart ? decision.delayMs : SPEC_RETRY_MS;
    this.phase("backoff", `cannot start: ${message}; retrying in ${formatDuration(delay)}`, { ready: false });
    this.schedule(delay);
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.enqueue(() => this.startNow());
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async stopCurrent(why: string): Promise<void> {
    const instance = this.current;
    this.health?.stop();
    if (!instance) return;
    this.current = undefined;
    this.deps.log.info("stopping worker", { worker: this.key, why });
    await instance.stop(durationMs(this.desired.template.stopTimeout));
    this.update({ instance: null, pid: null, pidStart: null, containerId: null });
    this.phase("stopped", `stopped: ${why}`, { ready: false });
  }

  private async replace(): Promise<void> {
    await this.stopCurrent("its spec changed");
    this.quickExits = 0;
    await this.startNow();
  }

  /** Start the new instance first; stop the old one once the new one is ready. */
  private async surge(): Promise<void> {
    const old = this.current;
    const oldHealth = this.health;
    if (!old) return this.startNow();
    this.current = undefined;
    this.health = undefined;
    // The old instance keeps its port; an auto port is handed to the new instance afresh.
    const oldRecord = { ...this.record };
    if (this.desired.template.port === "auto") {
      this.record = { ...this.record, port: await this.deps.ports.reallocate(this.key) };
    }
    await this.startNow();
    const deadline = Date.now() + SURGE_READY_MS;
    while (this.current && !this.record.ready && Date.now() < deadline) await Bun.sleep(100);
    oldHealth?.stop();
    this.deps.log.info("surge: stopping the previous instance", { worker: this.key, pid: oldRecord.pid });
    await old.stop(durationMs(this.desired.template.stopTimeout));
  }

  /** Config/artifact content changed on mounts with changeMode signal:NAME or none. */
  private async refreshLiveMounts(): Promise<void> {
    const desired = this.desired;
    const dir = workerDir(this.deps.dataDir, desired.service, desired.index);
    // A removal or a replacing spec stops a refresh that waits for content.
    const abort = new AbortController();
    this.abort = abort;
    try {
      await resolveMounts(desired.template, {
        dataDir: this.deps.dataDir,
        workerDir: dir,
        container: desired.template.driver === "container",
        configs: desired.configs,
        configFiles: this.deps.configFiles,
        artifacts: this.deps.artifacts,
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) return;
      this.phase(this.record.phase, `cannot refresh mounted files: ${(err as Error).message}`, {
        ready: this.record.ready,
      });
      return;
    }
    this.filesHash = desired.filesHash;
    const signals = new Set(desired.template.mounts.filter(isLive).flatMap((m) => changeSignal(m) ?? []));
    for (const signal of signals) await this.current?.signal(signal);
    this.deps.log.info("mounted files refreshed", { worker: this.key, signals: [...signals] });
  }

  private update(fields: Partial<WorkerRecord>): void {
    this.record = { ...this.record, ...fields };
    this.deps.save(this.record);
  }

  private phase(phase: string, message: string, fields: { ready: boolean }): void {
    const same =
      this.record.phase === phase && this.record.ready === fields.ready && this.record.message === message;
    if (same) return;
    const since = this.record.phase === phase ? this.record.since : new Date().toISOString();
    this.update({ phase, message, ready: fields.ready, since });
    this.deps.changed(statusOf(this.record), this.record);
  }
}
