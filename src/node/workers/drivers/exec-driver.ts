// The exec driver: a worker is a process in its own session and process group (setsid), started
// in its own directory under the data dir (or template.workingDir), with stdout and stderr
// appended straight to its log file: no pipe runs through the agent, so a worker keeps running
// and logging while the agent is stopped, upgraded or killed, and a restarted agent adopts it
// (pid + start time + the LEVEE_WORKER_ID marker, see proc.ts). A worker with kubeApi runs in a
// mount namespace of its own when the agent can make one (mount-namespace.ts): the same process.
import { closeSync, constants, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { ExecCommand } from "../../../protocol/exec-session.ts";
import { describeError } from "../../../runtime/errors.ts";
import { inheritedEnv } from "../prestart/worker-env.ts";
import type { AttachedProcess } from "./attached-process.ts";
import type { Driver, ExitInfo, Instance, InstanceRef, LaunchSpec } from "./driver.ts";
import { WorkerSpecError } from "./driver.ts";
import { findExecutable } from "./executable.ts";
import { holdServiceAccountNamespace } from "./mount-namespace.ts";
import { isSameProcess, listPids, processEnvVar, processGroupMembers, processStartTime } from "./proc.ts";
import { attachToProcess } from "./process-attach.ts";
import { resolveIds } from "./system-users.ts";

/** How often an adopted process (not our child: no exit notification) is checked. */
const ADOPTED_POLL_MS = 500;
const MARKER = "LEVEE_WORKER_ID";

export class ExecDriver implements Driver {
  readonly name = "exec" as const;

  constructor(private readonly agentEnv: NodeJS.ProcessEnv = process.env) {}

  async start(spec: LaunchSpec): Promise<Instance> {
    const { template } = spec;
    const command = template.command;
    if (!command || command.length === 0) throw new WorkerSpecError("template.command is empty");
    const env = { ...inheritedEnv(this.agentEnv), ...spec.env };
    const executable = findExecutable(command[0] as string, env.PATH ?? "");
    const cwd = template.workingDir ?? spec.workerDir;
    if (!isDirectory(cwd))
      throw new WorkerSpecError(`workingDir ${cwd} does not exist or is not a directory`);
    const ids = resolveIds(template.user, template.group);
    if ("error" in ids) throw new WorkerSpecError(ids.error);
    if ((ids.uid !== undefined || ids.gid !== undefined) && process.getuid?.() !== 0) {
      throw new WorkerSpecError("user/group need the agent to run as root");
    }
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const argv = [executable, ...command.slice(1), ...template.args];
    // kubeApi: nsenter runs the program in place inside the namespace and switches the user itself.
    const namespace = spec.serviceAccountDir
      ? await holdServiceAccountNamespace(spec.serviceAccountDir)
      : undefined;
    const logFd = openSync(spec.logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
    let child: ReturnType<typeof Bun.spawn>;
    try {
      child = Bun.spawn(namespace ? namespace.enter(argv, cwd, ids) : argv, {
        cwd,
        env,
        stdin: "ignore",
        stdout: logFd,
        stderr: logFd,
        detached: true,
        ...(ids.uid !== undefined && !namespace ? { uid: ids.uid } : {}),
        ...(ids.gid !== undefined && !namespace ? { gid: ids.gid } : {}),
      });
    } catch (err) {
      await namespace?.release(undefined);
      throw new WorkerSpecError(`cannot start ${command[0]}: ${describeError(err)}`);
    } finally {
      closeSync(logFd);
    }
    const pid = child.pid;
    const pidStart = processStartTime(pid);
    await namespace?.release(pid);
    const ref: InstanceRef = { key: spec.key, driver: "exec", pid, pidStart };
    const exited = child.exited.then(
      (): ExitInfo => ({
        exitCode: child.signalCode ? null : child.exitCode,
        signal: child.signalCode ? String(child.signalCode) : null,
      }),
    );
    return new ProcessInstance(ref, exited);
  }

  async adopt(ref: InstanceRef): Promise<Instance | undefined> {
    const { pid, pidStart } = ref;
    if (pid === undefined || pidStart === undefined) return undefined;
    if (!isSameProcess(pid, pidStart)) return undefined;
    if (processEnvVar(pid, MARKER) !== ref.key.instance) return undefined;
    return new ProcessInstance(ref, watchForeign(pid, pidStart));
  }

  /** `levee ctl exec`: the command in the running worker's context (process-attach.ts). */
  async attach(ref: InstanceRef, command: ExecCommand): Promise<AttachedProcess> {
    const { pid, pidStart } = ref;
    if (pid === undefined || pidStart === undefined || !isSameProcess(pid, pidStart))
      throw new Error("the worker's process is not running");
    return attachToProcess(pid, command);
  }

  async orphans(agentId: string, known: ReadonlySet<string>): Promise<InstanceRef[]> {
    const prefix = instancePrefix(agentId);
    const found: InstanceRef[] = [];
    for (const pid of listPids()) {
      if (pid === process.pid) continue;
      const marker = processEnvVar(pid, MARKER);
      if (marker === undefined || !marker.startsWith(prefix) || known.has(marker)) continue;
      // Only group leaders: a worker's children inherit the marker.
      if (!processGroupMembers(pid).includes(pid)) continue;
      const pidStart = processStartTime(pid);
      if (pidStart === undefined) continue;
      found.push({
        key: { node: "", service: "", index: -1, instance: marker },
        driver: "exec",
        pid,
        pidStart,
      });
    }
    return found;
  }
}

/** Instance ids of one agent start with a tag of its data dir, so orphans() finds only its own. */
export function instancePrefix(agentId: string): string {
  return `${Bun.hash(agentId).toString(16).padStart(16, "0").slice(0, 12)}-`;
}

class ProcessInstance implements Instance {
  private stopping: Promise<ExitInfo> | undefined;
  private ended = false;

  constructor(
    readonly ref: InstanceRef,
    readonly exited: Promise<ExitInfo>,
  ) {
    exited.then(() => {
      this.ended = true;
      // The worker is its process group: children left behind by a leader that ended (and that
      // would hold its port or files) end with it.
      const pgid = ref.pid as number;
      if (processGroupMembers(pgid).length > 0) killGroup(pgid, "SIGKILL");
    });
  }

  async signal(signal: string): Promise<void> {
    if (!this.ended) killGroup(this.ref.pid as number, signal);
  }

  stop(timeoutMs: number): Promise<ExitInfo> {
    this.stopping ??= this.terminate(timeoutMs);
    return this.stopping;
  }

  private async terminate(timeoutMs: number): Promise<ExitInfo> {
    const pgid = this.ref.pid as number;
    if (!this.ended) killGroup(pgid, "SIGTERM");
    const deadline = Date.now() + timeoutMs;
    const leaderGone = await Promise.race([
      this.exited.then(() => true),
      Bun.sleep(timeoutMs).then(() => false),
    ]);
    if (!leaderGone) killGroup(pgid, "SIGKILL");
    // Children that outlive the leader (ignoring SIGTERM) get the rest of the grace period.
    while (processGroupMembers(pgid).length > 0 && Date.now() < deadline) await Bun.sleep(50);
    if (processGroupMembers(pgid).length > 0) killGroup(pgid, "SIGKILL");
    return this.exited;
  }
}

function killGroup(pgid: number, signal: string): void {
  try {
    process.kill(-pgid, signal as NodeJS.Signals);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Exit of a process that is not our child: seen by polling, status unknown. */
async function watchForeign(pid: number, pidStart: string): Promise<ExitInfo> {
  while (isSameProcess(pid, pidStart)) await Bun.sleep(ADOPTED_POLL_MS);
  return { exitCode: null, signal: null };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
