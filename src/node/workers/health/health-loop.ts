// Runs a worker's health check on its schedule and reports changes: ready / not ready (with the
// probe's detail) and, for liveness checks, "unhealthy" (the controller restarts the worker).
// Until the worker is first ready it is probed every STARTING_INTERVAL_MS (or its interval if
// shorter), so a (re)started worker is routed to within a fraction of a second of listening.
import { durationMs } from "../../../manifest/duration.ts";
import type { Health } from "../../../manifest/health.ts";
import { type CommandRunner, runProbe } from "./health-probe.ts";
import { HealthState } from "./health-state.ts";

export const STARTING_INTERVAL_MS = 250;

export interface HealthCallbacks {
  ready(ready: boolean, detail: string): void;
  unhealthy(detail: string): void;
  /** After every probe, passed or not (the agent's levee_health_checks_total). */
  probed?(passed: boolean): void;
}

export class HealthLoop {
  private readonly state: HealthState;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private lastDetail = "";

  constructor(
    private readonly health: Health,
    private readonly port: number | undefined,
    private readonly runCommand: CommandRunner,
    private readonly callbacks: HealthCallbacks,
  ) {
    this.state = new HealthState(health);
    this.timer = setTimeout(() => this.tick(), 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const interval = durationMs(this.health.interval);
    const result = await runProbe(this.health, this.port, durationMs(this.health.timeout), this.runCommand);
    if (this.stopped) return;
    this.callbacks.probed?.(result.ok);
    const verdict = this.state.record(result.ok);
    if (verdict.changed || (!verdict.ready && result.detail !== this.lastDetail)) {
      this.callbacks.ready(verdict.ready, result.detail);
    }
    this.lastDetail = result.detail;
    if (verdict.restart) {
      this.stop();
      this.callbacks.unhealthy(result.detail);
      return;
    }
    const next = this.state.starting ? Math.min(interval, STARTING_INTERVAL_MS) : interval;
    this.timer = setTimeout(() => this.tick(), next);
  }
}
