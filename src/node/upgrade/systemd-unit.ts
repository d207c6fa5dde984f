// The systemd unit the upgrade guard runs in, and starting it after a rollback. Under systemd the
// guard leaves starting the restored old agent to the unit's Restart=always, but systemd does not
// restart an agent that exited 2 (RestartPreventExitStatus=2 in the units of `levee install`): a
// new binary that exits 2 at start leaves the unit failed, and without a start nobody would run
// the old agent again. The guard is in the unit's cgroup (KillMode=process keeps it there), so
// /proc/self/cgroup names the unit.
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
  let unit: string | undefined;
  try {
    unit = serviceOfCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  } catch {
    unit = undefined;
  }
  if (unit === undefined) return "not in a systemd service: nothing started";
  try {
    const r = Bun.spawnSync(["systemctl", "start", "--no-block", unit], { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode === 0) return `asked systemd to start ${unit}`;
    return `systemctl start ${unit} failed (exit ${r.exitCode}): ${r.stderr.toString().trim().slice(0, 300)}`;
  } catch (err) {
    return `cannot run systemctl: ${err instanceof Error ? err.message : String(err)}`;
  }
}
