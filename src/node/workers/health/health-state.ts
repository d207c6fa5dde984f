// The thresholds of a health check (pure): ready after successThreshold passes in a row, not
// ready after failureThreshold failures in a row; with liveness, a worker that was ready and then
// failed failureThreshold times in a row must be restarted. Before its first ready, a worker is
// starting: failures then make it not ready but never count toward a restart (like a Kubernetes
// startup probe), and the agent probes it more often so a restarted worker is routed to quickly.
export interface HealthThresholds {
  successThreshold: number;
  failureThreshold: number;
  liveness: boolean;
}

export interface HealthVerdict {
  ready: boolean;
  /** Whether `ready` changed with this result. */
  changed: boolean;
  /** A liveness failure: restart the worker. */
  restart: boolean;
}

export class HealthState {
  private passes = 0;
  private failures = 0;
  private ready = false;
  private everReady = false;

  constructor(private readonly thresholds: HealthThresholds) {}

  get isReady(): boolean {
    return this.ready;
  }

  /** Whether the worker has not been ready yet since it started. */
  get starting(): boolean {
    return !this.everReady;
  }

  record(passed: boolean): HealthVerdict {
    const before = this.ready;
    if (passed) {
      this.passes++;
      this.failures = 0;
      if (this.passes >= this.thresholds.successThreshold) {
        this.ready = true;
        this.everReady = true;
      }
    } else {
      this.failures++;
      this.passes = 0;
      if (this.failures >= this.thresholds.failureThreshold || !this.everReady) this.ready = false;
    }
    const restart =
      this.thresholds.liveness && this.everReady && this.failures >= this.thresholds.failureThreshold;
    return { ready: this.ready, changed: this.ready !== before, restart };
  }
}
