// A worker's record as its controller keeps it: every change is saved at once (SQLite, so that a
// restarted agent finds the instance again), and a change of phase, readiness or message is
// reported (the status the cloud sees, the snapshot the mesh routes by). A surge waits here for
// the new instance to become ready.
import type { WorkerStatus } from "../../protocol/messages.ts";
import { statusOf } from "./worker-records.ts";
import type { WorkerRecord } from "./worker-store.ts";

export interface WorkerStateSink {
  save(record: WorkerRecord): void;
  /** Phase, readiness or restarts changed. */
  changed(status: WorkerStatus, record: WorkerRecord): void;
}

export class WorkerState {
  private readonly readyWaiters = new Set<() => void>();

  constructor(
    private value: WorkerRecord,
    private readonly sink: WorkerStateSink,
  ) {}

  get record(): WorkerRecord {
    return this.value;
  }

  update(fields: Partial<WorkerRecord>): void {
    this.value = { ...this.value, ...fields };
    this.sink.save(this.value);
  }

  /** The instance ended or was stopped: there is nothing to find again after an agent restart. */
  clearInstance(): void {
    this.update({ instance: null, pid: null, pidStart: null, containerId: null });
  }

  /** Moves to a phase (a new `since` when the phase itself changes); reports it if anything changed. */
  phase(phase: string, message: string, fields: { ready: boolean }): void {
    const record = this.value;
    if (record.phase === phase && record.ready === fields.ready && record.message === message) return;
    const since = record.phase === phase ? record.since : new Date().toISOString();
    this.update({ phase, message, ready: fields.ready, since });
    this.report();
    if (fields.ready) for (const wake of [...this.readyWaiters]) wake();
  }

  /** Reports the record as it is (e.g. the service's generation moved). */
  report(): void {
    this.sink.changed(statusOf(this.value), this.value);
  }

  /** Resolves when the worker is ready, when `gaveUp` settles, or after timeoutMs. */
  untilReady(timeoutMs: number, gaveUp: Promise<unknown>): Promise<void> {
    if (this.value.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.readyWaiters.add(done);
      void gaveUp.then(done);
    });
  }
}
