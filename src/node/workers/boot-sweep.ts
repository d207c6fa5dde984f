// What the agent clears away at boot, before it adopts its workers and applies the stored plan:
// instances it started that no record owns (orphans of a crash between launch and the store write),
// workers that left the plan while it was down, and directories of workers that no longer exist.
// Apart from supervisor.ts because it runs once, on what the last run left behind, while the
// supervisor converges plans for as long as the agent runs.
import type { Template } from "../../manifest/template.ts";
import { describeError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import { workerKey } from "./desired.ts";
import type { Driver } from "./drivers/driver.ts";
import { removeWorkerDir, sweepWorkerDirs } from "./worker-dirs.ts";
import { launched } from "./worker-records.ts";
import type { WorkerRecord, WorkerStore } from "./worker-store.ts";

/** What the boot sweep works with (the supervisor's). */
export interface BootSweep {
  node: string;
  dataDir: string;
  /** The data dir, absolute: tells this agent's instances from another agent's on the same host. */
  agentId: string;
  log: Logger;
  driver: (name: Template["driver"]) => Driver;
  records: WorkerStore;
}

/**
 * Stops what this agent started but no record owns: a record whose launch never got its pid or
 * container back does not own what that launch started, so the process or container carrying its
 * instance id is stopped as an orphan.
 */
export async function stopOrphans(sweep: BootSweep, stored: WorkerRecord[]): Promise<void> {
  const known = new Set(stored.flatMap((r) => (r.instance !== null && launched(r) ? [r.instance] : [])));
  const drivers: Driver[] = [sweep.driver("exec")];
  if (stored.some((r) => r.driver === "container")) drivers.push(sweep.driver("container"));
  for (const driver of drivers) {
    let orphans: Awaited<ReturnType<Driver["orphans"]>>;
    try {
      orphans = await driver.orphans(sweep.agentId, known);
    } catch (err) {
      sweep.log.warn("cannot look for orphaned workers", {
        driver: driver.name,
        error: describeError(err),
      });
      continue;
    }
    for (const ref of orphans) {
      sweep.log.warn("stopping an orphaned worker instance (started just before the agent died)", {
        instance: ref.key.instance,
        pid: ref.pid,
        container: ref.containerId,
      });
      const instance = await driver.adopt(ref);
      await instance?.stop(10_000);
    }
  }
}

/** Before any worker starts: directories of workers neither stored nor planned go. */
export function sweepStaleDirs(sweep: BootSweep, known: string[]): void {
  try {
    const removed = sweepWorkerDirs(sweep.dataDir, new Set(known));
    if (removed.length > 0)
      sweep.log.info("removed the directories of workers that no longer exist", {
        count: removed.length,
        dirs: removed.slice(0, 20).join(", "),
      });
  } catch (err) {
    sweep.log.warn("cannot clean up old worker directories", { error: describeError(err) });
  }
}

/** A worker removed from the plan while the agent was down: stop it if it runs, forget it. */
export async function retireUnplanned(sweep: BootSweep, record: WorkerRecord): Promise<void> {
  if (record.instance !== null) {
    const driver = sweep.driver(record.driver);
    const instance = await driver
      .adopt({
        key: {
          node: sweep.node,
          service: record.service,
          index: record.index,
          instance: record.instance,
        },
        driver: record.driver,
        pid: record.pid ?? undefined,
        pidStart: record.pidStart ?? undefined,
        containerId: record.containerId ?? undefined,
      })
      .catch(() => undefined);
    if (instance) {
      sweep.log.info("stopping a worker that left the plan while the agent was down", {
        worker: workerKey(record.service, record.index),
      });
      await instance.stop(10_000);
    }
  }
  sweep.records.remove(record.service, record.index);
  removeWorkerDir(sweep.dataDir, record.service, record.index);
}
