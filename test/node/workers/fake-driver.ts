// An in-memory Driver for lifecycle tests of the worker controller and the supervisor, with the
// real Driver interface. Its instances "run" until the test ends them (exit()) or the agent stops
// them; they answer command health checks as the test says (healthy); they outlive an agent
// restart (a new supervisor given the same driver finds them again with adopt(), as a real host
// keeps its processes); and every start, stop and signal is recorded in order (timeline).
import type {
  Driver,
  ExitInfo,
  Instance,
  InstanceRef,
  LaunchSpec,
} from "../../../src/node/workers/drivers/driver.ts";

export class FakeInstance implements Instance {
  readonly ref: InstanceRef;
  readonly exited: Promise<ExitInfo>;
  /** What command health checks answer. */
  healthy: boolean;
  readonly signals: string[] = [];
  stopped = false;
  private settle!: (exit: ExitInfo) => void;
  private ended: ExitInfo | undefined;

  constructor(
    private readonly driver: FakeDriver,
    readonly spec: LaunchSpec,
    pid: number,
  ) {
    this.ref = { key: spec.key, driver: driver.name, pid, pidStart: `t${pid}` };
    this.healthy = driver.healthyOnStart;
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  get pid(): number {
    return this.ref.pid as number;
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  /** The instance ends on its own (a crash, an exit code). */
  exit(exit: ExitInfo): void {
    if (this.ended) return;
    this.ended = exit;
    this.driver.gone(this);
    this.settle(exit);
  }

  async signal(signal: string): Promise<void> {
    this.signals.push(signal);
    this.driver.timeline.push(`signal ${this.pid} ${signal}`);
  }

  async stop(_timeoutMs: number): Promise<ExitInfo> {
    if (!this.ended) {
      this.stopped = true;
      this.driver.timeline.push(`stop ${this.pid}`);
      this.exit({ exitCode: null, signal: "SIGTERM" });
    }
    return this.exited;
  }

  async exec(_command: string[], _timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    return this.healthy
      ? { ok: true, detail: "command exited 0" }
      : { ok: false, detail: "command exited 1" };
  }
}

export class FakeDriver implements Driver {
  /** Every start asked for, in order (also those that failed). */
  readonly launches: LaunchSpec[] = [];
  /** Starts, stops and signals, in the order they happened: "start PID", "stop PID", ... */
  readonly timeline: string[] = [];
  /** Whether new instances pass their command health check from the start. */
  healthyOnStart = true;
  private readonly running = new Map<string, FakeInstance>();
  private readonly started: FakeInstance[] = [];
  private readonly failures: Error[] = [];
  private nextPid = 1000;

  constructor(readonly name: "exec" | "container" = "exec") {}

  /** The next start throws this (a WorkerSpecError, or any transient error). */
  failNextStart(err: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(err);
  }

  /** The instances that run now, oldest first. */
  alive(): FakeInstance[] {
    return [...this.running.values()];
  }

  /** The instance of the last successful start. */
  last(): FakeInstance {
    const last = this.started.at(-1);
    if (!last) throw new Error("no instance was started");
    return last;
  }

  /** Makes an instance run as if a previous agent had started it (for orphans). */
  plant(spec: LaunchSpec): FakeInstance {
    const instance = new FakeInstance(this, spec, this.nextPid++);
    this.running.set(spec.key.instance, instance);
    return instance;
  }

  async start(spec: LaunchSpec): Promise<Instance> {
    this.launches.push(spec);
    const failure = this.failures.shift();
    if (failure) throw failure;
    const instance = this.plant(spec);
    this.started.push(instance);
    this.timeline.push(`start ${instance.pid}`);
    return instance;
  }

  async adopt(ref: InstanceRef): Promise<Instance | undefined> {
    const instance = this.running.get(ref.key.instance);
    return instance && instance.ref.pid === ref.pid ? instance : undefined;
  }

  async orphans(agentId: string, known: ReadonlySet<string>): Promise<InstanceRef[]> {
    return this.alive()
      .filter((i) => i.spec.agentId === agentId && !known.has(i.ref.key.instance))
      .map((i) => i.ref);
  }

  /** Called by an instance that ended. */
  gone(instance: FakeInstance): void {
    if (this.running.get(instance.ref.key.instance) === instance)
      this.running.delete(instance.ref.key.instance);
  }
}
