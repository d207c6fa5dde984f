// The upgrade guard: the kept old binary, run by the old agent just before it ends as
// `levee.previous upgrade-guard <data-dir>/upgrade` in its own session (setsid), so that whatever
// the new binary does, even exiting at once, something that works decides what happens next.
// It waits until the pending upgrade is committed by the new agent's health gate, and otherwise,
// at the deadline (or as soon as a new agent it started has exited), claims it (rollback.json:
// exactly one of the guard and the new agent wins, upgrade-files.ts), stops the new agent, puts
// the old binary back over the executable's path and has the old agent started again.
//
// Without systemd the guard starts the agents itself (the new one once the old one has exited,
// the old one after a rollback), detached, their output to <data-dir>/upgrade/agent.log. Under
// systemd (Restart=always, KillMode=process: the units of `levee install` and systemd/), the unit
// restarts the agent whenever it exits, and KillMode=process leaves the guard running as it does
// the workers: the guard restores the binary and stops the running agent, and systemd starts the
// old one; the guard still asks systemd to start the unit (systemd-unit.ts), which a new agent
// that exited 2 left failed. It does not see the new agent exit there, so it reads the unit's state
// about once a second and rolls back early when the unit failed or kept restarting.
import { spawn } from "node:child_process";
import { existsSync, readlinkSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { fsyncDir } from "../../runtime/fsync-dir.ts";
import { processStartTime } from "../workers/drivers/proc.ts";
import { ownServiceState, startOwnService, type UnitState, unitVerdict } from "./systemd-unit.ts";
import type { PendingUpgrade, UpgradeFiles } from "./upgrade-files.ts";

export interface RunningAgent {
  pid: number;
  exited(): boolean;
}

export interface GuardEffects {
  files: UpgradeFiles;
  alive(pid: number): boolean;
  /** Starts `execPath args` detached, output to agent.log. */
  startAgent(p: PendingUpgrade): RunningAgent;
  /** SIGTERM, then SIGKILL if it has not ended after a while. */
  stop(pid: number): Promise<void>;
  /** The running agent's pid (agent.pid) when it is still a levee at execPath, else undefined. */
  runningAgent(p: PendingUpgrade): number | undefined;
  restore(p: PendingUpgrade): void;
  /** Under systemd: has the unit this guard runs in started; says what happened. */
  startUnit(): string;
  /** The state of the systemd unit the guard runs in, if any (read about once a second). */
  unitState(): UnitState | undefined;
  sleep(ms: number): Promise<void>;
  now(): number;
  log(line: string): void;
}

/** How long the guard waits for the old agent to end before it starts the new one anyway. */
const OLD_AGENT_EXIT_MS = 30_000;

export async function runGuard(fx: GuardEffects): Promise<string> {
  const p = fx.files.readPending();
  if (!p) return "no pending upgrade";
  let started: RunningAgent | undefined;
  if (!p.systemd) {
    const until = fx.now() + OLD_AGENT_EXIT_MS;
    while (fx.alive(p.oldPid) && fx.now() < until) await fx.sleep(100);
    started = fx.startAgent(p);
    fx.log(`started the new agent ${p.to} (pid ${started.pid})`);
  }
  // Under systemd the guard does not see the new agent exit; the unit's restarts say it.
  const baseline = p.systemd ? fx.unitState()?.restarts : undefined;
  let reason: string;
  for (let tick = 0; ; tick++) {
    if (!existsSync(fx.files.path("pending.json"))) return "committed";
    if (started?.exited()) {
      reason = `the new agent ${p.to} exited before passing its health gate`;
      break;
    }
    if (baseline !== undefined && tick % 4 === 0) {
      const unit = fx.unitState();
      const why = unit && unitVerdict(baseline, unit, p.to);
      if (why) {
        reason = why;
        break;
      }
    }
    if (fx.now() > p.deadline) {
      reason = `the new agent ${p.to} was not ready with its ${p.workers.length} worker(s) adopted within ${p.timeoutSeconds} s`;
      break;
    }
    await fx.sleep(250);
  }
  if (!fx.files.claim("rollback.json")) return "committed";
  fx.files.writeRollback({ ...p, reason });
  fx.log(`rolling back to ${p.from}: ${reason}`);
  const victim = started?.pid ?? fx.runningAgent(p);
  if (victim !== undefined && fx.alive(victim)) await fx.stop(victim);
  fx.restore(p);
  if (!p.systemd) {
    const old = fx.startAgent(p);
    fx.log(`started the old agent ${p.from} again (pid ${old.pid})`);
  } else fx.log(fx.startUnit());
  return `rolled back: ${reason}`;
}

export function realGuardEffects(files: UpgradeFiles): GuardEffects {
  // A process that has exited but whose parent has not reaped it yet (a zombie) is not alive.
  const alive = (pid: number) => processStartTime(pid) !== undefined;
  return {
    files,
    alive,
    startAgent(p) {
      const out = files.openAgentLog();
      const child = spawn(p.execPath, p.args, { cwd: p.cwd, detached: true, stdio: ["ignore", out, out] });
      let done = false;
      child.on("exit", () => {
        done = true;
      });
      child.on("error", () => {
        done = true;
      });
      child.unref();
      return { pid: child.pid ?? -1, exited: () => done };
    },
    async stop(pid) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        return;
      }
      const until = Date.now() + 10_000;
      while (alive(pid) && Date.now() < until) await Bun.sleep(100);
      if (alive(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    },
    runningAgent(p) {
      const pid = files.readAgentPid();
      if (pid === undefined || pid === process.pid) return undefined;
      try {
        return readlinkSync(`/proc/${pid}/exe`).startsWith(p.execPath) ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    restore(p) {
      renameSync(p.previous, p.execPath);
      fsyncDir(dirname(p.execPath));
    },
    startUnit: startOwnService,
    unitState: ownServiceState,
    sleep: (ms) => Bun.sleep(ms),
    now: Date.now,
    log: (line) => process.stderr.write(`${new Date().toISOString()} levee upgrade-guard: ${line}\n`),
  };
}
