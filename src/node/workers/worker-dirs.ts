// The worker directories under <data-dir>/workers/<service>/<index> (mounts, logs, scratch) and
// their garbage collection. A worker's directory goes with the worker: removed when it leaves the
// plan (its logs too: `levee ctl logs` serves only workers in the plan), with the service's
// directory once it is empty. At agent start, directories that belong to no known worker (a crash
// between the worker's removal from SQLite and from disk, or an older levee that left the service
// directories behind) are removed. Only what levee makes is touched: real directories inside
// <data-dir>/workers named like a service and an index; a symbolic link is never followed (rm
// removes the link, not its target) and one in place of a directory levee makes is left alone.
// A service name (`svc`, or `svc.namespace`) is a DNS subdomain, checked by the plan's schema: always
// one file name, never '/' or '..'.
import { lstatSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export function workersRoot(dataDir: string): string {
  return join(dataDir, "workers");
}

export function workerDir(dataDir: string, service: string, index: number): string {
  return join(workersRoot(dataDir), service, String(index));
}

/** Removes one worker's directory, then its service's directory when that is empty. */
export function removeWorkerDir(dataDir: string, service: string, index: number): void {
  rmSync(workerDir(dataDir, service, index), { recursive: true, force: true });
  removeIfEmpty(join(workersRoot(dataDir), service));
}

/**
 * Removes the directories of workers that `known` (keys "service/index") does not hold, and
 * service directories left empty. Returns the removed directories (paths inside the data dir).
 * It reads two levels (services, their workers' indexes), never what a worker's directory holds
 * unless that directory goes.
 */
export function sweepWorkerDirs(dataDir: string, known: ReadonlySet<string>): string[] {
  const root = workersRoot(dataDir);
  const removed: string[] = [];
  for (const service of realDirs(root)) {
    const serviceDir = join(root, service);
    const stray = (index: string) => INDEX.test(index) && !known.has(`${service}/${index}`);
    let removedWorker = false;
    for (const index of realDirs(serviceDir, stray)) {
      rmSync(join(serviceDir, index), { recursive: true, force: true });
      removed.push(join(serviceDir, index));
      removedWorker = true;
    }
    if (removeIfEmpty(serviceDir) && !removedWorker) removed.push(serviceDir);
  }
  return removed;
}

const INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * Names of the real directories (no links) in `dir` that `wanted` accepts (the name is checked
 * first: only those are stat'ed); none when `dir` does not exist.
 */
function realDirs(dir: string, wanted: (name: string) => boolean = () => true): string[] {
  let names: string[];
  try {
    if (!lstatSync(dir).isDirectory()) return [];
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names.filter((name) => {
    if (!wanted(name)) return false;
    try {
      return lstatSync(join(dir, name)).isDirectory();
    } catch {
      return false;
    }
  });
}

/** rmdir when empty; true when it was removed. */
function removeIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false; // not empty, gone already, or not a directory: nothing to do
  }
}
