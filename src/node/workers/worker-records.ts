// Small pure helpers around a worker's stored record: a new worker's record, its status for the
// cloud, how to find its instance again, how to describe it.
import type { WorkerStatus } from "../../protocol/messages.ts";
import type { DesiredWorker } from "./desired.ts";
import type { InstanceRef } from "./drivers/driver.ts";
import type { WorkerRecord } from "./worker-store.ts";

export function statusOf(record: WorkerRecord): WorkerStatus {
  return {
    service: record.service,
    index: record.index,
    phase: record.phase,
    ready: record.ready,
    restarts: record.restarts,
    message: record.message,
    exitCode: record.exitCode,
    signal: record.signal,
    since: record.since,
    generation: record.generation,
  };
}

/**
 * Whether the record names an instance the driver had started: it has the pid or container the
 * start returned. An instance id without either is a launch the agent died in the middle of
 * (instance-launch.ts writes the id before the driver starts): whatever it started is an orphan.
 */
export function launched(record: WorkerRecord): boolean {
  return record.instance !== null && (record.pid !== null || record.containerId !== null);
}

/** How to find the record's instance again, or undefined when none was started. */
export function refOf(record: WorkerRecord, node: string): InstanceRef | undefined {
  if (record.instance === null || !launched(record)) return undefined;
  return {
    key: { node, service: record.service, index: record.index, instance: record.instance },
    driver: record.driver,
    pid: record.pid ?? undefined,
    pidStart: record.pidStart ?? undefined,
    containerId: record.containerId ?? undefined,
  };
}

export function describeRunning(ref: InstanceRef): string {
  return ref.pid !== undefined
    ? `running (pid ${ref.pid})`
    : `running (container ${ref.containerId?.slice(0, 12)})`;
}

/** The record of a worker this node has not started yet. */
export function newRecord(desired: DesiredWorker): WorkerRecord {
  return {
    service: desired.service,
    index: desired.index,
    generation: desired.generation,
    specHash: desired.specHash,
    restartRequest: desired.restartRequest,
    driver: desired.template.driver,
    instance: null,
    pid: null,
    pidStart: null,
    containerId: null,
    port: null,
    phase: "pending",
    ready: false,
    restarts: 0,
    message: "waiting to start",
    exitCode: null,
    signal: null,
    startedAt: null,
    since: new Date().toISOString(),
  };
}
