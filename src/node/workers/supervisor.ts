// The supervisor: converges this node's plan (from SQLite) to running workers, one
// WorkerController per (service, index). At agent start it first stops orphans (instances of this
// agent that no row knows: a crash between launch and the store write), then adopts what still
// runs and restarts what died, before any new plan arrives: the node runs its stored plan with or
// without the cloud. Shutting the agent down leaves workers running (they are adopted next time).
// What the boot clears away (orphans, workers that left the plan, stale directories): boot-sweep.ts.
import { EventEmitter } from "node:events";
import { type NodePlan, nodePlanSchema } from "../../manifest/plan.ts";
import type { Template } from "../../manifest/template.ts";
import type { ExecCommand } from "../../protocol/exec-session.ts";
import type { WorkerStatus } from "../../protocol/messages.ts";
import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";
import type { KubeAccess } from "../kube-access/kube-access.ts";
import type { StoredPlan } from "../link/plan-store.ts";
import { stagedArtifacts } from "../staging/fetchables.ts";
import { type BootSweep, retireUnplanned, stopOrphans, sweepStaleDirs } from "./boot-sweep.ts";
import { type DesiredWorker, desiredWorkers, type InvalidWorker, workerKey } from "./desired.ts";
import type { Driver, LogReadOptions } from "./drivers/driver.ts";
import { type AttachResult, attachWorker } from "./exec/worker-attach.ts";
import { type LogRotator, workerLogDir } from "./logs/log-files.ts";
import { readWorkerLog } from "./logs/log-reader.ts";
import type { LogSource } from "./logs/log-server.ts";
import { readKeptContainerLog } from "./logs/timed-lines.ts";
import type { ArtifactSource } from "./prestart/mount-resolver.ts";
import type { PortRegistry } from "./prestart/port-registry.ts";
import { WorkerController } from "./worker-controller.ts";
import type { WorkerDeps } from "./worker-deps.ts";
import { newRecord, statusOf } from "./worker-records.ts";
import { type WorkerRecord, WorkerStore } from "./worker-store.ts";

export interface SupervisorOptions {
  store: Store;
  log: Logger;
  node: string;
  dataDir: string;
  /** The data dir, absolute: tells this agent's instances from another agent's on the same host. */
  agentId: string;
  agentUrl: string;
  proxy?: { url: string; host: string } | undefined;
  /** This agent's Kubernetes API, for workers with kubeApi (undefined: --kube-port 0). */
  kubeAccess?: KubeAccess | undefined;
  drivers: { exec: Driver; container: () => Driver };
  ports: PortRegistry;
  artifacts?: (ArtifactSource & { gc?(inUse: ReadonlySet<string>): unknown }) | undefined;
  /** Config file content by reference (fetched, verified, kept in SQLite). */
  configFiles?: (WorkerDeps["configFiles"] & { gc?(inUse: ReadonlySet<string>): unknown }) | undefined;
  /** Keeps exec workers' log files bounded (copy-truncate rotation). */
  rotator?: LogRotator | undefined;
  /** Where status changes go: the node's status outbox, which its link sends from. */
  status: (status: WorkerStatus) => void;
  /** After every health probe of a worker (the agent's levee_health_checks_total). */
  onHealthCheck?: ((passed: boolean) => void) | undefined;
  /** Every plan this agent can read, as it is applied (staging, the cloud's download cap). */
  onPlan?: ((plan: NodePlan) => void) | undefined;
}

/** What the mesh and the agent API see of a worker. */
export interface WorkerSnapshot {
  service: string;
  index: number;
  phase: string;
  ready: boolean;
  port: number | null;
  pid: number | null;
  containerId: string | null;
  restarts: number;
  message: string;
}

export class Supervisor extends EventEmitter<{ change: [WorkerSnapshot] }> {
  private readonly controllers = new Map<string, WorkerController>();
  private readonly records: WorkerStore;
  private readonly containerDriver: { value?: Driver } = {};
  private applying: Promise<void> = Promise.resolve();
  /** What the plan stages (the generations held back): its artifacts are kept in the cache. */
  private keptForStaging: ReadonlySet<string> = new Set();

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.records = new WorkerStore(options.store);
  }

  /**
   * Boot: orphans, adoption, then the stored plan (if any). Plans that arrive meanwhile wait for
   * it (a plan converged during the boot would start a second instance of a worker the boot is
   * about to adopt).
   */
  start(plan: StoredPlan | undefined): Promise<void> {
    return this.inTurn(() => this.boot(plan));
  }

  /** A newer plan was stored: converge to it. Plans are applied one at a time, in order. */
  apply(plan: StoredPlan): Promise<void> {
    return this.inTurn(() => this.converge(plan));
  }

  /** Runs `step` after the boot and every plan before it; one that fails does not stop the next. */
  private inTurn(step: () => Promise<void>): Promise<void> {
    const run = this.applying.then(step);
    this.applying = run.catch((err: unknown) => {
      this.options.log.error("applying the plan failed; the next plan is applied as usual", {
        error: describeError(err),
      });
    });
    return run;
  }

  private async boot(plan: StoredPlan | undefined): Promise<void> {
    const stored = this.records.all();
    const sweep = this.bootSweep();
    await stopOrphans(sweep, stored);
    const { workers, invalid } = this.parse(plan);
    const wanted = new Map(workers.map((w) => [w.key, w]));
    sweepStaleDirs(sweep, [...stored.map((r) => workerKey(r.service, r.index)), ...wanted.keys()]);
    const boots: Promise<void>[] = [];
    for (const record of stored) {
      const key = workerKey(record.service, record.index);
      const desired = wanted.get(key);
      if (desired) {
        const controller = this.controller(desired, record);
        boots.push(controller.boot());
      } else {
        boots.push(retireUnplanned(sweep, record));
      }
    }
    for (const desired of workers) {
      if (!this.controllers.has(desired.key))
        boots.push(this.controller(desired, undefined).setDesired(desired));
    }
    this.reportInvalid(invalid);
    await Promise.all(boots);
    await this.releasePorts(wanted);
    // What a plan applied just before a crash no longer needs (its cleanup never ran) goes now.
    await this.collectArtifacts(workers);
    this.collectConfigContent(workers);
  }

  snapshot(): WorkerSnapshot[] {
    return [...this.controllers.values()].map((c) => snapshotOf(c.state));
  }

  /**
   * A worker's output for `levee ctl logs`: exec workers from their rotated files, containers from
   * Docker (the current container; an exited one until the worker starts again; --previous: the
   * log kept when the container before was removed).
   */
  openLog(service: string, index: number, options: LogReadOptions): LogSource {
    const controller = this.controllers.get(workerKey(service, index));
    if (!controller)
      return { status: 404, error: `node ${this.options.node} has no worker ${service}/${index}` };
    const record = controller.state;
    const logDir = workerLogDir(this.options.dataDir, service, index);
    if (record.driver === "exec") return readWorkerLog(logDir, options);
    if (options.previous) return readKeptContainerLog(logDir, options);
    const containerId = controller.lastContainerId;
    const driver = this.driver("container");
    if (!containerId || !driver.logs) {
      return {
        status: 404,
        error: `worker ${service}/${index} has no container yet (${record.phase}: ${record.message})`,
      };
    }
    return driver.logs(
      {
        key: { node: this.options.node, service, index, instance: record.instance ?? "" },
        driver: "container",
        containerId,
      },
      options,
    );
  }

  /** `levee ctl exec`: runs a command in the worker's running instance (worker-attach.ts). */
  attach(service: string, index: number, command: ExecCommand): Promise<AttachResult> {
    const controller = this.controllers.get(workerKey(service, index));
    if (!controller)
      return Promise.resolve({
        ok: false,
        status: 404,
        error: `node ${this.options.node} has no worker ${service}/${index}`,
      });
    const record = controller.state;
    return attachWorker(this.options.node, record, this.driver(record.driver), command);
  }

  /** Agent shutdown: stop timers and checks; workers keep running. */
  close(): void {
    for (const controller of this.controllers.values()) controller.detach();
  }

  /** Stops every worker (levee demo at Ctrl-C, tests). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.controllers.values()].map((c) => c.stopAndDetach()));
  }

  private async converge(plan: StoredPlan): Promise<void> {
    const { workers, invalid } = this.parse(plan);
    const wanted = new Map(workers.map((w) => [w.key, w]));
    const ops: Promise<void>[] = [];
    for (const key of this.controllers.keys()) {
      if (!wanted.has(key)) ops.push(this.drop(key));
    }
    for (const desired of workers) {
      const existing = this.controllers.get(desired.key);
      ops.push(
        existing ? existing.setDesired(desired) : this.controller(desired, undefined).setDesired(desired),
      );
    }
    this.reportInvalid(invalid);
    await Promise.all(ops);
    await this.releasePorts(wanted);
    await this.collectArtifacts(workers);
    this.collectConfigContent(workers);
  }

  /**
   * Frees the host ports of workers no longer wanted. A registry locked by another agent for too
   * long is no reason to fail the plan: the ports are freed with the next plan or restart.
   */
  private async releasePorts(wanted: ReadonlyMap<string, unknown>): Promise<void> {
    try {
      await this.options.ports.releaseExcept(new Set(wanted.keys()));
    } catch (err) {
      this.options.log.warn("ports of removed workers not released yet", { error: describeError(err) });
    }
  }

  private async drop(key: string): Promise<void> {
    const controller = this.controllers.get(key);
    if (!controller) return;
    await controller.remove();
    if (this.controllers.get(key) === controller) this.controllers.delete(key);
  }

  private controller(desired: DesiredWorker, record: WorkerRecord | undefined): WorkerController {
    const { options } = this;
    const controller = new WorkerController(
      {
        node: options.node,
        dataDir: options.dataDir,
        agentId: options.agentId,
        agentUrl: options.agentUrl,
        proxy: options.proxy,
        kubeAccess: options.kubeAccess,
        log: options.log,
        driver: (name) => this.driver(name),
        ports: options.ports,
        artifacts: options.artifacts,
        configFiles: options.configFiles,
        rotator: options.rotator,
        onHealthCheck: options.onHealthCheck,
        save: (r) => this.records.save(r),
        remove: (service, index) => this.records.remove(service, index),
        changed: (status, r) => {
          this.options.status(status);
          this.emit("change", snapshotOf(r));
        },
      },
      desired,
      record ?? newRecord(desired),
    );
    this.controllers.set(desired.key, controller);
    return controller;
  }

  private bootSweep(): BootSweep {
    const { node, dataDir, agentId, log } = this.options;
    return { node, dataDir, agentId, log, driver: (name) => this.driver(name), records: this.records };
  }

  private driver(name: Template["driver"]): Driver {
    if (name === "exec") return this.options.drivers.exec;
    this.containerDriver.value ??= this.options.drivers.container();
    return this.containerDriver.value;
  }

  private parse(plan: StoredPlan | undefined): { workers: DesiredWorker[]; invalid: InvalidWorker[] } {
    if (!plan) return { workers: [], invalid: [] };
    const parsed = nodePlanSchema.safeParse(plan.plan);
    if (!parsed.success) {
      this.options.log.error(
        "the stored plan cannot be read by this agent; keeping the workers as they are",
        {
          revision: plan.revision,
          error: parsed.error.issues[0]?.message,
        },
      );
      return { workers: [...this.controllers.values()].map((c) => c.desiredWorker), invalid: [] };
    }
    this.keptForStaging = stagedArtifacts(parsed.data);
    this.options.onPlan?.(parsed.data);
    return desiredWorkers(parsed.data);
  }

  private reportInvalid(invalid: InvalidWorker[]): void {
    const now = new Date().toISOString();
    for (const w of invalid) {
      this.options.status({
        service: w.service,
        index: w.index,
        phase: "failed",
        ready: false,
        restarts: 0,
        message: w.message,
        exitCode: null,
        signal: null,
        since: now,
      });
    }
  }

  private async collectArtifacts(workers: DesiredWorker[]): Promise<void> {
    const gc = this.options.artifacts?.gc;
    if (!gc) return;
    const inUse = new Set<string>(this.keptForStaging);
    for (const w of workers) for (const m of w.template.mounts) if (m.artifact) inUse.add(m.artifact.sha256);
    try {
      await gc.call(this.options.artifacts, inUse);
    } catch (err) {
      this.options.log.warn("artifact cache cleanup failed", { error: describeError(err) });
    }
  }

  /** Config content no desired worker references any more is deleted. */
  private collectConfigContent(workers: DesiredWorker[]): void {
    const gc = this.options.configFiles?.gc;
    if (!gc) return;
    const inUse = new Set<string>();
    for (const w of workers)
      for (const files of Object.values(w.configs))
        for (const ref of Object.values(files)) inUse.add(ref.sha256);
    try {
      gc.call(this.options.configFiles, inUse);
    } catch (err) {
      this.options.log.warn("config content cleanup failed", { error: describeError(err) });
    }
  }
}

export function snapshotOf(record: WorkerRecord): WorkerSnapshot {
  const status = statusOf(record);
  return {
    service: status.service,
    index: status.index,
    phase: status.phase,
    ready: status.ready,
    port: record.port,
    pid: record.pid,
    containerId: record.containerId,
    restarts: record.restarts,
    message: record.message,
  };
}
