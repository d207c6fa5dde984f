// Graceful shutdown: SIGTERM/SIGINT run the registered closers in reverse order of start, and a
// watchdog ends the process if they take longer than the grace period (5 s by default), so that
// systemd never has to SIGKILL the agent.
import type { Logger } from "./log.ts";

export type Closer = { name: string; close: () => Promise<void> | void };

export class Lifecycle {
  private readonly closers: Closer[] = [];
  private readonly stopListeners: (() => void)[] = [];
  private stopping: Promise<void> | undefined;
  private resolveDone!: () => void;
  /** Resolves once shutdown has finished. */
  readonly done = new Promise<void>((r) => {
    this.resolveDone = r;
  });

  constructor(
    private readonly log: Logger,
    private readonly graceMs = 5000,
  ) {}

  /** Registers something to close at shutdown; closed in reverse order of registration. */
  add(name: string, close: Closer["close"]): void {
    this.closers.push({ name, close });
  }

  /** Called once when shutdown begins, before any closer (e.g. to tell systemd STOPPING=1). */
  onStop(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  handleSignals(): void {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.on(signal, () => {
        if (this.stopping) this.log.debug("already shutting down", { signal });
        else this.log.info("shutting down", { signal });
        void this.shutdown();
      });
    }
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.run();
    return this.stopping;
  }

  private async run(): Promise<void> {
    const started = performance.now();
    const watchdog = setTimeout(() => {
      this.log.error("shutdown took too long; exiting", { graceMs: this.graceMs });
      process.exit(1);
    }, this.graceMs);
    watchdog.unref?.();
    for (const listener of this.stopListeners) {
      try {
        listener();
      } catch (err) {
        this.log.warn("error while starting to stop", { error: err });
      }
    }
    for (const closer of [...this.closers].reverse()) {
      try {
        await closer.close();
      } catch (err) {
        this.log.warn("error while closing", { component: closer.name, error: err });
      }
    }
    clearTimeout(watchdog);
    this.log.info("stopped", { ms: Math.round(performance.now() - started) });
    this.resolveDone();
  }
}
