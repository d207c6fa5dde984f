// The contract between the supervisor and the two ways a worker runs (exec: a process group;
// container: a Docker container). The supervisor decides WHAT runs (src/node/workers/supervisor.ts);
// a driver only starts, finds again, signals, stops and watches one instance. Drivers never
// touch SQLite: what they return in an InstanceRef is stored by the supervisor, and handed back
// to adopt() after an agent restart.

import type { PlannedImage } from "../../../manifest/image-ref.ts";
import type { Template } from "../../../manifest/template.ts";
import type { ExecCommand } from "../../../protocol/exec-session.ts";
import { PermanentError } from "../../../runtime/errors.ts";
import type { AttachedProcess } from "./attached-process.ts";

/** One start of one worker. */
export interface InstanceKey {
  /** The node this agent runs as. */
  node: string;
  service: string;
  index: number;
  /** Unique per start (a UUID); the marker the instance carries (env LEVEE_WORKER_ID, a label). */
  instance: string;
}

/** A mount resolved on this node: the host path exists (or was created) and has been checked. */
export interface ResolvedMount {
  /** Absolute path on the host. */
  hostPath: string;
  /** Container only: where it appears inside the container. */
  target?: string | undefined;
  readOnly: boolean;
}

/** Everything a driver needs to start an instance; the supervisor has resolved it all. */
export interface LaunchSpec {
  key: InstanceKey;
  template: Template;
  /** The complete environment (template env + injected variables); values byte-exact. */
  env: Record<string, string>;
  /** The worker's own directory under the data dir (exists): exec's default working directory. */
  workerDir: string;
  /** Files the instance's stdout/stderr go to (exec; containers log through Docker). */
  logFile: string;
  mounts: ResolvedMount[];
  /**
   * exec, template kubeApi: the worker's service account files, to bind read-only at
   * /var/run/secrets/kubernetes.io/serviceaccount in a mount namespace of its own (only set when
   * the agent can make one; containers get theirs as one of `mounts`).
   */
  serviceAccountDir?: string | undefined;
  /** The worker's port, if it has one (already in env as PORT). */
  port?: number | undefined;
  /**
   * Identifies this agent among agents sharing one host (its data dir, absolute): a container
   * label, so that two agents on one host never adopt or remove each other's containers.
   */
  agentId: string;
}

/** What the supervisor stores about a running instance, to find it again after a restart. */
export interface InstanceRef {
  key: InstanceKey;
  driver: "exec" | "container";
  /** exec: pid of the process group leader. */
  pid?: number | undefined;
  /** exec: the process start time (/proc/PID/stat field 22), so a reused pid is not mistaken. */
  pidStart?: string | undefined;
  /** container: the Docker container id. */
  containerId?: string | undefined;
}

/** How an instance ended. Both null: unknown (it ended while the agent was not watching). */
export interface ExitInfo {
  exitCode: number | null;
  /** Signal name, e.g. "SIGKILL". */
  signal: string | null;
  /** Set when the driver knows more, e.g. "OOMKilled". */
  reason?: string | undefined;
}

/** ExitInfo.reason of an instance the kernel killed for its memory limit (both drivers). */
export const OOM_KILLED = "OOMKilled";

/** A running instance, started or adopted. */
export interface Instance {
  readonly ref: InstanceRef;
  /** Resolves once when the instance has ended (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Sends a signal (e.g. "SIGHUP") to the instance (exec: its process group). */
  signal(signal: string): Promise<void>;
  /**
   * SIGTERM (to the process group / container), then SIGKILL after timeoutMs; resolves when the
   * instance is gone, and removes what the driver created (the container). Idempotent.
   */
  stop(timeoutMs: number): Promise<ExitInfo>;
  /**
   * Runs a command inside the instance (container: `docker exec`), for command health checks.
   * Absent for exec workers: their checks run on the host with the worker's environment.
   */
  exec?(command: string[], timeoutMs: number): Promise<{ ok: boolean; detail: string }>;
  /** What the status message should add, e.g. that the resource limits are not enforced here. */
  readonly notice?: string | undefined;
}

/**
 * A start that cannot succeed as specified (missing image, command not found, bad user): the
 * worker becomes `failed` with this message, which names the cause. Other errors are transient
 * and retried with backoff.
 */
export class WorkerSpecError extends PermanentError {}

export interface Driver {
  readonly name: "exec" | "container";
  /** Starts an instance. Throws WorkerSpecError for a spec that cannot run. */
  start(spec: LaunchSpec): Promise<Instance>;
  /**
   * Finds a stored instance again after an agent restart: the Instance when it still runs (and
   * is the same one: pid + start time + marker, or container + labels), else undefined.
   */
  adopt(ref: InstanceRef): Promise<Instance | undefined>;
  /**
   * Instances of this agent (agentId) that run but are not in `known` (a crash between start and
   * the store write): the supervisor stops them, so no duplicate ever runs.
   */
  orphans(agentId: string, known: ReadonlySet<string>): Promise<InstanceRef[]>;
  /** The instance's output, for drivers that keep it themselves (containers: Docker's log). */
  logs?(ref: InstanceRef, options?: LogReadOptions): AsyncIterable<Uint8Array>;
  /**
   * Runs a command in a running instance's context with its streams attached (levee ctl exec).
   * Throws WorkerSpecError for a command that cannot run there (not found).
   */
  attach?(ref: InstanceRef, command: ExecCommand): Promise<AttachedProcess>;
  /**
   * Makes a container image present from the cloud's copy before a start (containers: fetched
   * through `fetch`, loaded into Docker). What it did, for the log.
   */
  prepareImage?(image: string, cloud: PlannedImage, options: CloudImageOptions): Promise<string>;
}

/** How a driver gets the cloud's copy of an image and says what the worker waits for. */
export interface CloudImageOptions {
  /** The tarball's verified file (fetched through the node's artifact cache). */
  fetch(): Promise<string>;
  say(message: string): void;
}

/** Options for reading a worker's logs (levee ctl logs). */
export interface LogReadOptions {
  /** Only the last N lines (default: everything kept). */
  tail?: number | undefined;
  /** Keep streaming new output until the signal aborts. */
  follow?: boolean | undefined;
  /** Only what was written at or after this time (exec workers: by log file, log-reader.ts). */
  since?: Date | undefined;
  /** Each line begins with its time (RFC 3339) and a space. */
  timestamps?: boolean | undefined;
  /** The output of the instance before the current one (the run before the last restart). */
  previous?: boolean | undefined;
  signal?: AbortSignal | undefined;
}
