// The Docker Engine API's JSON, as far as levee reads and writes it (API v1.41). Docker sends and
// accepts many more fields; these are the ones the client and the container driver use.

/** The parts of GET /containers/{id}/json the driver reads. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  State: ContainerState;
  Config: { Labels: Record<string, string> | null; Image: string; Tty?: boolean; Env?: string[] | null };
  HostConfig: Record<string, unknown>;
}

export interface ContainerState {
  /** created | running | paused | restarting | removing | exited | dead */
  Status: string;
  Running: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  OOMKilled: boolean;
  Dead?: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

/** One entry of GET /containers/json. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  Labels: Record<string, string> | null;
  /** created | running | paused | restarting | removing | exited | dead */
  State: string;
  Status: string;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  Config: { Entrypoint?: string[] | null; Cmd?: string[] | null } | null;
}

export interface WaitResult {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

/** The body of POST /containers/create (the fields levee sets; Docker accepts many more). */
export interface ContainerCreateBody {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  WorkingDir?: string;
  User?: string;
  Labels: Record<string, string>;
  StopTimeout?: number;
  Tty: false;
  OpenStdin: false;
  AttachStdin: false;
  AttachStdout: false;
  AttachStderr: false;
  HostConfig: {
    NetworkMode: "host";
    RestartPolicy: { Name: "no" };
    Privileged: boolean;
    Init?: boolean;
    Mounts: { Type: "bind"; Source: string; Target: string; ReadOnly: boolean }[];
    Devices: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
    /** The OCI runtime (template.runtime, e.g. nvidia); absent: the daemon's default. */
    Runtime?: string;
    /** GPUs (template.gpus) and CDI devices (template.cdiDevices). */
    DeviceRequests?: DeviceRequest[];
    LogConfig?: { Type: string; Config: Record<string, string> };
    /** Memory limit in bytes (template.resources.memory); MemorySwap equal to it: no swap on top. */
    Memory?: number;
    MemorySwap?: number;
    /** CPU limit in billionths of a core (template.resources.cpu). */
    NanoCpus?: number;
  };
}

/** One entry of HostConfig.DeviceRequests (`docker run --gpus`, `--device` with a CDI name). */
export interface DeviceRequest {
  Driver: string;
  /** -1: all. */
  Count: number;
  DeviceIDs: string[] | null;
  Capabilities: string[][] | null;
  Options: Record<string, string>;
}

export interface DockerLogOptions {
  /** Only the last N lines (default: all that Docker kept). */
  tail?: number | undefined;
  /** Keep streaming new output until the container stops or the signal aborts. */
  follow?: boolean | undefined;
  /** Only what was logged at or after this time (Docker's `since`). */
  since?: Date | undefined;
  /** Each line begins with Docker's RFC 3339 time of it (nanoseconds) and a space. */
  timestamps?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Which streams (default both). */
  stdout?: boolean | undefined;
  stderr?: boolean | undefined;
}
