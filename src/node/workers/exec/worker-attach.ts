// Which instance a `levee ctl exec` runs in: the worker's running one (an exec worker's process,
// a container worker's container), through its driver's attach(). A worker that is not running
// (pending, starting, in backoff, stopped, failed) or unknown is a refusal with the status the client gets.
import type { ExecCommand } from "../../../protocol/exec-session.ts";
import type { AttachedProcess } from "../drivers/attached-process.ts";
import type { Driver, InstanceRef } from "../drivers/driver.ts";
import { WorkerSpecError } from "../drivers/driver.ts";
import type { WorkerRecord } from "../worker-store.ts";

/** Why there is no session: an HTTP-like status and a message naming the worker. */
export interface ExecRefusal {
  status: number;
  error: string;
}

export type AttachResult = { ok: true; process: AttachedProcess } | ({ ok: false } & ExecRefusal);

/** The instance `record` runs now, or why there is none to exec into. */
export function runningInstance(node: string, record: WorkerRecord): InstanceRef | ExecRefusal {
  const name = `${record.service}/${record.index}`;
  const key = { node, service: record.service, index: record.index, instance: record.instance ?? "" };
  if (record.phase !== "running" && record.phase !== "ready")
    return { status: 409, error: `worker ${name} is not running (${record.phase}: ${record.message})` };
  if (record.driver === "exec") {
    if (record.pid === null || record.pidStart === null)
      return { status: 409, error: `worker ${name} has no process yet` };
    return { key, driver: "exec", pid: record.pid, pidStart: record.pidStart };
  }
  if (!record.containerId) return { status: 409, error: `worker ${name} has no container yet` };
  return { key, driver: "container", containerId: record.containerId };
}

/** Runs `command` in the worker's running instance with its driver. */
export async function attachWorker(
  node: string,
  record: WorkerRecord,
  driver: Driver,
  command: ExecCommand,
): Promise<AttachResult> {
  const ref = runningInstance(node, record);
  if (!("key" in ref)) return { ok: false, ...ref };
  if (!driver.attach) return { ok: false, status: 501, error: `the ${driver.name} driver cannot exec` };
  try {
    return { ok: true, process: await driver.attach(ref, command) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const status = err instanceof WorkerSpecError ? 400 : statusOf(err);
    return {
      ok: false,
      status,
      error: `cannot run ${command.command[0]} in ${record.service}/${record.index}: ${message}`,
    };
  }
}

function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500 ? status : 500;
}
