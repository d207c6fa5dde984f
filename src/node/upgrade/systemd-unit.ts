// The systemd unit the upgrade guard runs in, and starting it after a rollback. Under systemd the
// guard leaves starting the restored old agent to the unit's Restart=always, but systemd does not
// restart an agent that exited 2 (RestartPreventExitStatus=2 in the units of `levee install`): a
// new binary that exits 2 at start leaves the unit failed, and without a start nobody would run
// the old agent again. The guard is in the unit's cgroup (KillMode=process keeps it there), so
// /proc/self/cgroup names the unit. The unit's state also tells the guard early that the new
// binary cannot run: systemd restarting it again and again, or the unit failed.
import { readFileSync } from "node:fs";

/**
 * The service unit of a /proc/<pid>/cgroup text: the last component of the cgroup v2 path ("0::"),
 * else of systemd's own v1 hierarchy ("name=systemd"), when it is a .service; else undefined.
 */
export function serviceOfCgroup(text: string): string | undefined {
  const lines = text.split("\n");
  const path =
    lines.find((l) => l.startsWith("0::"))?.slice(3) ??
    lines.find((l) => l.includes(":name=systemd:"))?.replace(/^[^:]*:name=systemd:/, "");
  const last = path?.trim().split("/").pop();
  return last?.endsWith(".service") ? last : undefined;
}

/**
 * `systemctl start --no-block` of the service this process runs in (a no-op for one that is
 * active or restarting). Returns what happened, for the guard's log; never throws.
 */
export function startOwnService(): string {
  const unit = ownService();
  if (unit === undefined) return "not in a systemd service: nothing started";
  try {
    const r = Bun.spawnSync(["systemctl", "start", "--no-block", unit], { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode === 0) return `asked systemd to start ${unit}`;
    return `systemctl start ${unit} failed (exit ${r.exitCode}): ${r.stderr.toString().trim().slice(0, 300)}`;
  } catch (err) {
    return `cannot run systemctl: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The service this process runs in, if any: read once (a process does not change unit). */
let own: { unit: string | undefined } | undefined;
function ownService(): string | undefined {
  if (!own) {
    try {
      own = { unit: serviceOfCgroup(readFileSync("/proc/self/cgroup", "utf8")) };
    } catch {
      own = { unit: undefined };
    }
  }
  return own.unit;
}

/** What the guard reads of its unit: systemd's ActiveState and NRestarts. */
export interface UnitState {
  activeState: string;
  restarts: number;
}

/** `systemctl show -p ActiveState -p NRestarts` of this process's service; undefined if none. */
export function ownServiceState(): UnitState | undefined {
  const unit = ownService();
  if (unit === undefined) return undefined;
  try {
    const r = Bun.spawnSync(["systemctl", "show", "-p", "ActiveState", "-p", "NRestarts", unit], {
      stdout: "pipe",
      stderr: "ignore",
    });
    if (r.exitCode !== 0) return undefined;
    return parseUnitState(r.stdout.toString());
  } catch {
    return undefined;
  }
}

/** `ActiveState=...` and `NRestarts=N` lines; undefined when either is missing. */
export function parseUnitState(text: string): UnitState | undefined {
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1]?.trim();
  const activeState = value("ActiveState");
  const restarts = Number(value("NRestarts"));
  if (!activeState || !Number.isInteger(restarts)) return undefined;
  return { activeState, restarts };
}

/**
 * Restarts of the unit since the guard began that mean the new binary keeps failing: the old
 * agent's own exit is one restart; two more are two failed starts of the new one.
 */
export const FAILED_STARTS_BEFORE_ROLLBACK = 3;

/**
 * Why the guard should roll back now rather than at the deadline, judging by the unit (`baseline`:
 * NRestarts when the guard began), or undefined while the new agent may still come up.
 */
export function unitVerdict(baseline: number, now: UnitState, to: string): string | undefined {
  if (now.activeState === "failed")
    return `the new agent ${to} exited and systemd did not restart it (the unit failed)`;
  const restarts = now.restarts - baseline;
  if (restarts >= FAILED_STARTS_BEFORE_ROLLBACK)
    return `the new agent ${to} kept exiting: systemd restarted the unit ${restarts} times`;
  return undefined;
}
