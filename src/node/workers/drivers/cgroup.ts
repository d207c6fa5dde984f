// Resource limits of exec workers: each instance with `resources` runs in a cgroup v2 of its own,
// <root>/levee.slice/<node>-<service>-<index>-<instance>, with memory.max (and memory.swap.max 0:
// the limit is not stretched by swap) and cpu.max. The spawn wrapper (wrap()) writes its own pid
// to the cgroup's cgroup.procs before it execs the worker's program, so every process of the
// worker is in it from the start. At the exit, memory.events' oom_kill count says whether the
// kernel killed a process of it for the limit (OOMKilled); the cgroup is then removed.
// Where cgroups cannot be used (no cgroup v2, its memory or cpu controller not available, not
// root) availability() says why: the exec driver then starts the worker without limits, and says
// so once in the log and in the worker's status message. The root is a parameter (tests use a
// temporary directory).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResourceLimits } from "../../../manifest/resources.ts";
import { describeError } from "../../../runtime/errors.ts";
import type { InstanceKey } from "./driver.ts";

export const CGROUP_ROOT = "/sys/fs/cgroup";
export const SLICE = "levee.slice";
/** cpu.max's period (the kernel's default): the quota is millicores × 100 µs of it. */
const CPU_PERIOD_US = 100_000;

export type CgroupAvailability = { ok: true } | { ok: false; problem: string };

/** The cgroups of one agent's exec workers. */
export class Cgroups {
  private checked: CgroupAvailability | undefined;

  constructor(readonly root: string = CGROUP_ROOT) {}

  /** Whether limits can be enforced here; checked once (it creates the slice on the way). */
  availability(): CgroupAvailability {
    this.checked ??= this.check();
    return this.checked;
  }

  private check(): CgroupAvailability {
    const controllers = readText(join(this.root, "cgroup.controllers"));
    if (controllers === undefined)
      return { ok: false, problem: `${this.root} is not a cgroup v2 hierarchy (cgroup v1 or none)` };
    const available = new Set(controllers.split(/\s+/));
    const missing = ["memory", "cpu"].filter((c) => !available.has(c));
    if (missing.length > 0)
      return {
        ok: false,
        problem: `cgroup v2 at ${this.root} does not offer the ${missing.join(" and ")} controller${missing.length > 1 ? "s" : ""}`,
      };
    try {
      writeFileSync(join(this.root, "cgroup.subtree_control"), "+memory +cpu");
      const slice = join(this.root, SLICE);
      mkdirSync(slice, { recursive: true });
      writeFileSync(join(slice, "cgroup.subtree_control"), "+memory +cpu");
    } catch (err) {
      return { ok: false, problem: `cgroup v2 at ${this.root} is not writable: ${describeError(err)}` };
    }
    return { ok: true };
  }

  /** The cgroup directory of one instance (whether or not it exists). */
  path(key: InstanceKey): string {
    const clean = (s: string) => s.replace(/[^a-zA-Z0-9_.-]+/g, "-");
    const name = `${clean(key.node)}-${clean(key.service)}-${key.index}`.slice(0, 200);
    return join(this.root, SLICE, `${name}-${clean(key.instance).slice(-12)}`);
  }

  /** Creates the instance's cgroup with these limits; throws when a file cannot be written. */
  create(key: InstanceKey, limits: ResourceLimits): string {
    const dir = this.path(key);
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of Object.entries(limitFiles(limits))) {
      // memory.swap.max is absent without swap accounting: then there is no swap to refuse.
      if (file === "memory.swap.max" && !existsSync(join(dir, file))) continue;
      writeFileSync(join(dir, file), value);
    }
    return dir;
  }

  /** How many processes of the cgroup the kernel killed for its memory limit (0 when it is gone). */
  oomKills(dir: string): number {
    return oomKillCount(readText(join(dir, "memory.events")) ?? "");
  }

  /** Removes the cgroup once its processes are gone; false when it could not (still busy). */
  remove(dir: string): boolean {
    try {
      rmdirSync(dir);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOENT";
    }
  }
}

/** The files that set these limits and their contents. */
export function limitFiles(limits: ResourceLimits): Record<string, string> {
  const files: Record<string, string> = {};
  if (limits.memoryBytes !== undefined) {
    files["memory.max"] = String(limits.memoryBytes);
    files["memory.swap.max"] = "0";
  }
  if (limits.cpuMillis !== undefined)
    files["cpu.max"] = `${(limits.cpuMillis * CPU_PERIOD_US) / 1000} ${CPU_PERIOD_US}`;
  return files;
}

/** The oom_kill count of a memory.events file's text. */
export function oomKillCount(events: string): number {
  const match = /^oom_kill (\d+)$/m.exec(events);
  return match ? Number(match[1]) : 0;
}

const WRAPPER = 'echo $$ > "$1" || exit 125; shift; exec "$@"';

/**
 * The command line that moves itself into the cgroup `dir` and then execs argv (same pid). It must
 * run as root: for a worker with its own user, argv starts with setpriv (the exec driver's part).
 */
export function wrap(dir: string, argv: string[], sh = "/bin/sh"): string[] {
  return [sh, "-c", WRAPPER, "levee-cgroup", join(dir, "cgroup.procs"), ...argv];
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
