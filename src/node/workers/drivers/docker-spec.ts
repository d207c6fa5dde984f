// Pure translation between levee's worker model and Docker's: the container a LaunchSpec becomes
// (name, labels, create body), how an ended container's state reads as an ExitInfo, which Docker
// errors mean "this spec cannot run" (WorkerSpecError) rather than "try again". No I/O here.
import { constants } from "node:os";
import { durationMs } from "../../../manifest/duration.ts";
import { resourceLimits } from "../../../manifest/resources.ts";
import type { Template } from "../../../manifest/template.ts";
import type { ContainerCreateBody, ContainerState, DeviceRequest } from "./docker-types.ts";
import type { ExitInfo, InstanceKey, InstanceRef, LaunchSpec, ResolvedMount } from "./driver.ts";
import { OOM_KILLED, WorkerSpecError } from "./driver.ts";

/** The labels every levee container carries; levee.agent tells agents sharing one host apart. */
export const LABEL = {
  node: "levee.node",
  service: "levee.service",
  index: "levee.index",
  instance: "levee.instance",
  agent: "levee.agent",
} as const;

export interface ContainerOptions {
  /** Run Docker's init (tini) as PID 1, forwarding signals (default false, as Docker and Kubernetes). */
  init?: boolean | undefined;
  /** Log driver for the containers (default json-file, 10 MB × 3 files per container). */
  logConfig?: { Type: string; Config: Record<string, string> } | undefined;
}

export const DEFAULT_LOG_CONFIG = { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } };

/**
 * A readable, valid Docker name: levee-NODE-SERVICE-INDEX-INSTANCE8. Docker allows
 * [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else becomes "-".
 */
export function containerName(key: InstanceKey): string {
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
  const instance = clean(key.instance).slice(0, 8);
  const name = `levee-${clean(key.node)}-${clean(key.service)}-${key.index}-${instance}`;
  return name.length <= 200 ? name : `${name.slice(0, 190)}-${instance}`;
}

export function containerLabels(key: InstanceKey, agentId: string): Record<string, string> {
  return {
    [LABEL.node]: key.node,
    [LABEL.service]: key.service,
    [LABEL.index]: String(key.index),
    [LABEL.instance]: key.instance,
    [LABEL.agent]: agentId,
  };
}

/** Whether a container's labels say it is this instance. */
export function labelsMatch(key: InstanceKey, labels: Record<string, string> | null | undefined): boolean {
  if (!labels) return false;
  return (
    labels[LABEL.node] === key.node &&
    labels[LABEL.service] === key.service &&
    labels[LABEL.index] === String(key.index) &&
    labels[LABEL.instance] === key.instance
  );
}

/** The InstanceRef a levee container's labels describe, or undefined if they are not levee's. */
export function refFromLabels(
  containerId: string,
  labels: Record<string, string> | null | undefined,
): InstanceRef | undefined {
  const node = labels?.[LABEL.node];
  const service = labels?.[LABEL.service];
  const index = Number(labels?.[LABEL.index]);
  const instance = labels?.[LABEL.instance];
  if (node === undefined || service === undefined || instance === undefined || !Number.isInteger(index))
    return undefined;
  return { key: { node, service, index, instance }, driver: "container", containerId };
}

export interface Device {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** HOST[:CONTAINER[:PERMISSIONS]] (like `docker run --device`); permissions default to rwm. */
export function parseDevice(text: string): Device {
  const parts = text.split(":");
  const host = parts[0] ?? "";
  let container = host;
  let perms = "rwm";
  if (parts.length === 2) {
    if ((parts[1] ?? "").startsWith("/")) container = parts[1] as string;
    else perms = parts[1] as string;
  } else if (parts.length === 3) {
    container = parts[1] as string;
    perms = parts[2] as string;
  }
  if (
    !host.startsWith("/") ||
    !container.startsWith("/") ||
    parts.length > 3 ||
    !/^[rwm]{1,3}$/.test(perms) ||
    new Set(perms).size !== perms.length
  )
    throw new WorkerSpecError(
      `devices: ${JSON.stringify(text)} is not HOST[:CONTAINER[:PERMISSIONS]], e.g. "/dev/ttyUSB0:/dev/ttyS0:rw"`,
    );
  return { PathOnHost: host, PathInContainer: container, CgroupPermissions: perms };
}

/** Docker's User field: "user", "user:group" or ":group" (Docker then runs as root with that group). */
export function userField(template: Pick<Template, "user" | "group">): string | undefined {
  const { user, group } = template;
  if (user === undefined && group === undefined) return undefined;
  return group === undefined ? String(user) : `${user ?? ""}:${group}`;
}

function bindMounts(mounts: ResolvedMount[]): ContainerCreateBody["HostConfig"]["Mounts"] {
  return mounts.map((mount) => {
    if (mount.target === undefined)
      throw new WorkerSpecError(`mount of ${mount.hostPath}: a container worker needs a target path`);
    return { Type: "bind", Source: mount.hostPath, Target: mount.target, ReadOnly: mount.readOnly };
  });
}

/**
 * POST /containers/create's body for a launch: host network, restart "no" (the supervisor
 * restarts), env byte-exact, command → Entrypoint and args → Cmd (an empty args list keeps the
 * image's Cmd, unless a command replaces the entrypoint), bind mounts, privileged, devices, labels,
 * resource limits, the runtime and device requests (GPUs, CDI devices).
 */
export function containerCreateBody(spec: LaunchSpec, options: ContainerOptions = {}): ContainerCreateBody {
  const { template } = spec;
  if (!template.image) throw new WorkerSpecError("a container worker needs an image");
  const body: ContainerCreateBody = {
    Image: template.image,
    Env: Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
    Labels: containerLabels(spec.key, spec.agentId),
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: {
      NetworkMode: "host",
      RestartPolicy: { Name: "no" },
      Privileged: template.privileged,
      Mounts: bindMounts(spec.mounts),
      Devices: template.devices.map(parseDevice),
      LogConfig: options.logConfig ?? DEFAULT_LOG_CONFIG,
    },
  };
  if (options.init) body.HostConfig.Init = true;
  if (template.runtime !== undefined) body.HostConfig.Runtime = template.runtime;
  const requests = deviceRequests(template);
  if (requests.length > 0) body.HostConfig.DeviceRequests = requests;
  const limits = resourceLimits(template.resources);
  if (limits?.memoryBytes !== undefined) {
    body.HostConfig.Memory = limits.memoryBytes;
    body.HostConfig.MemorySwap = limits.memoryBytes;
  }
  if (limits?.cpuMillis !== undefined) body.HostConfig.NanoCpus = limits.cpuMillis * 1_000_000;
  if (template.command) body.Entrypoint = [...template.command];
  if (template.args.length > 0) body.Cmd = [...template.args];
  if (template.workingDir !== undefined) body.WorkingDir = template.workingDir;
  const user = userField(template);
  if (user !== undefined) body.User = user;
  const stopMs = safeDurationMs(template.stopTimeout);
  if (stopMs !== undefined) body.StopTimeout = Math.ceil(stopMs / 1000);
  return body;
}

/** `gpus` as Docker's GPU request (like `docker run --gpus`), `cdiDevices` as the cdi driver's. */
export function deviceRequests(template: Pick<Template, "gpus" | "cdiDevices">): DeviceRequest[] {
  const out: DeviceRequest[] = [];
  if (template.gpus !== undefined)
    out.push({
      Driver: "",
      Count: template.gpus === "all" ? -1 : template.gpus,
      DeviceIDs: null,
      Capabilities: [["gpu"]],
      Options: {},
    });
  if (template.cdiDevices && template.cdiDevices.length > 0)
    out.push({
      Driver: "cdi",
      Count: 0,
      DeviceIDs: [...template.cdiDevices],
      Capabilities: null,
      Options: {},
    });
  return out;
}

/** Why a container asking for `wanted` cannot run on this node's Docker (runtimes: GET /info's). */
export function runtimeProblem(
  node: string,
  wanted: string,
  runtimes: readonly string[],
): string | undefined {
  if (runtimes.includes(wanted)) return undefined;
  const has = runtimes.length > 0 ? [...runtimes].sort().join(", ") : "none";
  return `docker on ${node} has no runtime ${JSON.stringify(wanted)} (it has: ${has})`;
}

function safeDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return durationMs(text);
  } catch {
    return undefined;
  }
}

const SIGNAL_NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals))
  if (!SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name);

/** "HUP", "SIGHUP" or "1" → "SIGHUP"; a WorkerSpecError for a name this system does not know. */
export function normalizeSignal(signal: string): string {
  const upper = signal.trim().toUpperCase();
  if (/^\d+$/.test(upper)) {
    const name = SIGNAL_NAMES.get(Number(upper));
    if (name) return name;
  } else {
    const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
    if (name in constants.signals) return name;
  }
  throw new WorkerSpecError(`unknown signal ${JSON.stringify(signal)} (expected e.g. SIGHUP, HUP or 1)`);
}

/**
 * How a container ended. Docker reports a main process killed by signal N as exit code 128+N
 * (like a shell): the code is kept and the signal named too.
 */
export function exitInfoFromState(state: Pick<ContainerState, "ExitCode" | "OOMKilled" | "Error">): ExitInfo {
  const info = exitInfoFromCode(state.ExitCode);
  if (state.OOMKilled) info.reason = OOM_KILLED;
  else if (state.Error) info.reason = state.Error;
  return info;
}

export function exitInfoFromCode(code: number): ExitInfo {
  const signal = code > 128 && code < 128 + 65 ? (SIGNAL_NAMES.get(code - 128) ?? null) : null;
  return { exitCode: code, signal };
}

const RUNTIME_PREFIX =
  /^(failed to create shim task: )?(OCI runtime (create|start) failed: )?(runc (create|start) failed: )?(unable to start container process: )?(container_linux\.go:\d+: )?(starting container process caused: )?/;

/** Docker's start error without the runtime's layers of prefixes, e.g. `exec: "x": executable file not found in $PATH`. */
export function cleanStartError(detail: string): string {
  return detail.replace(RUNTIME_PREFIX, "").replace(/: unknown$/, "");
}

/**
 * Whether a failed create/start is the spec's fault (bad command, user, mount, device, working
 * dir) and will fail the same way again; otherwise the failure is transient.
 */
export function isSpecError(status: number, detail: string): boolean {
  if (status === 400) return true;
  return (
    status === 500 &&
    /unable to find (user|group)|no matching entries in (passwd|group)|error gathering device|no such file or directory|executable file not found|permission denied|operation not permitted|not a directory|is a directory/i.test(
      detail,
    )
  );
}
