// `levee ctl exec` in an exec worker: the command runs on the host in the worker's own context,
// read from the running worker's /proc entry so that it is exactly what the worker got (the
// environment the prestart steps made, the working directory, the user and group the driver
// switched to, and its mount namespace when it has one, entered with nsenter as the driver does).
// The LEVEE_WORKER_ID marker is left out of the environment: the command is not the worker, and
// an agent restart must not take it for an orphan instance. The command gets a process group of
// its own (killed whole when the session ends). With a TTY it runs under util-linux `script`,
// which gives it a pseudo-terminal (Bun.spawn has none) of the client's size.
import { readFileSync, readlinkSync } from "node:fs";
import type { ExecCommand } from "../../../protocol/exec-session.ts";
import { describeError } from "../../../runtime/errors.ts";
import type { AttachedExit, AttachedProcess } from "./attached-process.ts";
import { WorkerSpecError } from "./driver.ts";
import { findExecutable } from "./executable.ts";

const MARKER = "LEVEE_WORKER_ID";
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** What the command inherits from the worker. */
export interface WorkerContext {
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
  /** The worker runs in a mount namespace other than the agent's. */
  ownMountNamespace: boolean;
}

/** /proc/PID/environ's text as variables, without the worker marker. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (name !== MARKER) env[name] = entry.slice(eq + 1);
  }
  return env;
}

/** The effective uid and gid in /proc/PID/status's text (its Uid: and Gid: lines). */
export function parseIds(status: string): { uid: number; gid: number } | undefined {
  const field = (name: string) => {
    const line = status.split("\n").find((l) => l.startsWith(`${name}:`));
    const value = Number(line?.split(/\s+/)[2]);
    return Number.isInteger(value) && value >= 0 ? value : undefined;
  };
  const uid = field("Uid");
  const gid = field("Gid");
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** The running worker's context; undefined when its process is gone. */
export function readWorkerContext(pid: number): WorkerContext | undefined {
  try {
    const env = parseEnviron(readFileSync(`/proc/${pid}/environ`, "utf8"));
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    const ids = parseIds(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (!ids) return undefined;
    const ownMountNamespace = readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync("/proc/self/ns/mnt");
    return { env, cwd, ...ids, ownMountNamespace };
  } catch {
    return undefined;
  }
}

/** Quotes a word for sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export interface AttachPlan {
  argv: string[];
  /** Switch to these ids at spawn (not when nsenter switches itself). */
  uid?: number;
  gid?: number;
}

/**
 * The command line for `command` in `context`: the program resolved in the worker's PATH, under
 * `script` for a TTY, inside the worker's mount namespace with nsenter when it has its own.
 */
export function attachPlan(
  pid: number,
  context: WorkerContext,
  command: ExecCommand,
  agent: { uid: number; gid: number },
  tools: { nsenter?: string | undefined; script?: string | undefined },
): AttachPlan {
  const [program, ...args] = command.command;
  let argv = [findExecutable(program as string, context.env.PATH ?? SYSTEM_PATH), ...args];
  if (command.tty) {
    if (!tools.script)
      throw new WorkerSpecError("a TTY needs util-linux's script on the node (-t without it)");
    const size =
      command.rows && command.cols ? `stty rows ${command.rows} cols ${command.cols} 2>/dev/null; ` : "";
    argv = [tools.script, "-q", "-e", "-c", `${size}exec ${argv.map(shellQuote).join(" ")}`, "/dev/null"];
  }
  const switchIds = context.uid !== agent.uid || context.gid !== agent.gid;
  if (context.ownMountNamespace) {
    if (!tools.nsenter)
      throw new WorkerSpecError("the worker runs in a mount namespace and nsenter is missing");
    const ids = switchIds ? [`--setuid=${context.uid}`, `--setgid=${context.gid}`] : [];
    return {
      argv: [tools.nsenter, `--target=${pid}`, "--mount", `--wd=${context.cwd}`, ...ids, "--", ...argv],
    };
  }
  return switchIds ? { argv, uid: context.uid, gid: context.gid } : { argv };
}

/** Starts `command` in the context of the exec worker whose group leader is `pid`. */
export async function attachToProcess(pid: number, command: ExecCommand): Promise<AttachedProcess> {
  const context = readWorkerContext(pid);
  if (!context) throw new Error(`the worker's process ${pid} is gone`);
  const agent = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if ((context.uid !== agent.uid || context.gid !== agent.gid) && agent.uid !== 0)
    throw new WorkerSpecError("the worker runs as another user: exec into it needs the agent to run as root");
  const tools = {
    nsenter: Bun.which("nsenter", { PATH: SYSTEM_PATH }) ?? undefined,
    script: Bun.which("script", { PATH: SYSTEM_PATH }) ?? undefined,
  };
  const plan = attachPlan(pid, context, command, agent, tools);
  let child: Bun.Subprocess<"pipe", "pipe", "pipe">;
  try {
    child = Bun.spawn(plan.argv, {
      cwd: context.cwd,
      env: command.tty ? { TERM: "xterm", ...context.env } : context.env,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
      ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
      ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
    });
  } catch (err) {
    throw new WorkerSpecError(`cannot start ${command.command[0]}: ${describeError(err)}`);
  }
  // Without -i the command's stdin ends at once.
  if (!command.stdin) void child.stdin.end();
  const group = child.pid;
  const kill = () => {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // ended already
    }
  };
  const exited = child.exited.then(
    (): AttachedExit => ({
      code: child.signalCode ? null : child.exitCode,
      signal: child.signalCode ? String(child.signalCode) : null,
    }),
  );
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    async write(data) {
      child.stdin.write(data);
      await child.stdin.flush();
    },
    endInput() {
      try {
        void child.stdin.end();
      } catch {
        // the command closed its stdin already
      }
    },
    resize() {
      // `script` has the size it was started with; a later change is not passed on.
    },
    exited,
    kill,
  };
}
