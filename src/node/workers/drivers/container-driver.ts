// The `container` driver: a worker is a Docker container on the host network, created, watched,
// signalled and removed through the Docker Engine API (docker-client.ts). Containers carry labels
// (docker-spec.ts: levee.node/service/index/instance/agent) so that a restarted agent finds its
// containers again (adopt) and the ones it lost track of (orphans). Docker's restart policy is
// "no": the supervisor restarts. stdout/stderr stay in Docker's log (json-file), read by logs().
//
// Lifecycle of a container: start() creates and starts it; `exited` resolves when it stops on its
// own (the container is kept, so its logs stay readable); stop() stops it if it runs and removes
// it. Stopped containers nobody stops are removed by the next start() of the same worker, or by
// orphans(). Before a worker's container is removed by stop() or the next start(), its log is
// copied to the worker's previous.log (`previousLog`, container-log-keeper.ts): the run before the
// last restart, for `levee ctl logs --previous`.

import type { PlannedImage } from "../../../manifest/image-ref.ts";
import type { ExecCommand } from "../../../protocol/exec-session.ts";
import type { AttachedProcess } from "./attached-process.ts";
import { keepContainerLog } from "./container-log-keeper.ts";
import {
  type ContainerInspect,
  DockerApiError,
  DockerClient,
  type DockerLogOptions,
  missingImage,
} from "./docker-client.ts";
import { dockerAttach } from "./docker-exec.ts";
import { dockerRuntimes, type LoadAnswer, loadCloudImage, loadImage } from "./docker-images.ts";
import {
  type ContainerOptions,
  cleanStartError,
  containerCreateBody,
  containerName,
  exitInfoFromCode,
  exitInfoFromState,
  isSpecError,
  LABEL,
  labelsMatch,
  normalizeSignal,
  refFromLabels,
  runtimeProblem,
} from "./docker-spec.ts";
import type {
  CloudImageOptions,
  Driver,
  ExitInfo,
  Instance,
  InstanceKey,
  InstanceRef,
  LaunchSpec,
  LogReadOptions,
} from "./driver.ts";
import { WorkerSpecError } from "./driver.ts";

export interface ContainerDriverOptions extends ContainerOptions {
  /** The Docker client to use (default: one on `socket`). */
  client?: DockerClient | undefined;
  /** dockerd's socket (default /var/run/docker.sock). */
  socket?: string | undefined;
  /** Where a worker's removed container's log is kept (its previous.log); none: not kept. */
  previousLog?: ((key: InstanceKey) => string) | undefined;
}

/** Keeps the log of a container of a worker before it is removed. */
type KeepLog = (containerId: string) => Promise<void>;

/** While the daemon cannot be asked, the exit watch retries at most this often. */
const MAX_RETRY_MS = 5000;

export class ContainerDriver implements Driver {
  readonly name = "container" as const;
  readonly client: DockerClient;
  private readonly options: ContainerOptions;
  private readonly previousLog: ((key: InstanceKey) => string) | undefined;
  /** Image tarballs being loaded, by path. */
  private readonly loads = new Map<string, Promise<LoadAnswer>>();
  /** The ID Docker gave each (image, artifact) loaded by this agent. */
  private readonly loadedAs = new Map<string, string>();

  constructor(options: ContainerDriverOptions = {}) {
    this.client = options.client ?? new DockerClient({ socket: options.socket });
    this.options = { init: options.init, logConfig: options.logConfig };
    this.previousLog = options.previousLog;
  }

  private keeper(key: InstanceKey): KeepLog | undefined {
    const file = this.previousLog?.(key);
    if (file === undefined) return undefined;
    return async (id) => {
      await keepContainerLog(this.client, id, file);
    };
  }

  async start(spec: LaunchSpec): Promise<Instance> {
    const body = containerCreateBody(spec, this.options);
    const image = await this.client.inspectImage(body.Image);
    if (!image) throw missingImage(body.Image);
    const runtime = body.HostConfig.Runtime;
    if (runtime !== undefined) {
      const problem = runtimeProblem(spec.key.node, runtime, await dockerRuntimes(this.client));
      if (problem) throw new WorkerSpecError(problem);
    }
    if (!body.Entrypoint && !body.Cmd && !image.Config?.Entrypoint?.length && !image.Config?.Cmd?.length)
      throw new WorkerSpecError(`image "${body.Image}" has no entrypoint or command: set command or args`);
    await this.removeStopped(
      {
        [LABEL.agent]: spec.agentId,
        [LABEL.node]: spec.key.node,
        [LABEL.service]: spec.key.service,
        [LABEL.index]: String(spec.key.index),
      },
      this.keeper(spec.key),
    );
    const name = containerName(spec.key);
    const id = await this.create(name, body, spec);
    try {
      await this.client.startContainer(id);
    } catch (err) {
      await this.client.removeContainer(id, { force: true }).catch(() => {});
      if (err instanceof DockerApiError && isSpecError(err.status, err.detail))
        throw new WorkerSpecError(
          `container ${name} (image "${body.Image}") did not start: ${cleanStartError(err.detail)}`,
        );
      throw err;
    }
    const ref = { key: spec.key, driver: "container" as const, containerId: id };
    return new ContainerInstance(this.client, ref, this.keeper(spec.key));
  }

  async adopt(ref: InstanceRef): Promise<Instance | undefined> {
    if (ref.driver !== "container" || !ref.containerId) return undefined;
    const info = await this.client.inspectContainer(ref.containerId);
    if (!info || !labelsMatch(ref.key, info.Config.Labels) || !info.State.Running) return undefined;
    const adopted = { key: ref.key, driver: "container" as const, containerId: info.Id };
    return new ContainerInstance(this.client, adopted, this.keeper(ref.key));
  }

  /**
   * Running containers of this agent whose instance (levee.instance label) or container id is not
   * in `known`. Stopped ones that are not known are removed here: nothing runs in them.
   */
  async orphans(agentId: string, known: ReadonlySet<string>): Promise<InstanceRef[]> {
    const containers = await this.client.listContainers({ labels: { [LABEL.agent]: agentId }, all: true });
    const out: InstanceRef[] = [];
    for (const container of containers) {
      const ref = refFromLabels(container.Id, container.Labels);
      if (!ref || known.has(ref.key.instance) || known.has(container.Id)) continue;
      if (isActive(container.State)) out.push(ref);
      else await this.client.removeContainer(container.Id, { force: true }).catch(() => {});
    }
    return out;
  }

  /** The output of an instance's container (running or stopped, until it is removed). */
  logs(ref: InstanceRef, options: LogReadOptions = {}): AsyncIterable<Uint8Array> {
    if (!ref.containerId) throw new Error(`worker ${ref.key.service}/${ref.key.index} has no container id`);
    const { tail, follow, since, timestamps, signal } = options;
    const docker: DockerLogOptions = { tail, follow, since, timestamps, signal };
    return this.client.logs(ref.containerId, docker);
  }

  /** `levee ctl exec`: `docker exec` in the instance's container, streams attached (docker-exec.ts). */
  async attach(ref: InstanceRef, command: ExecCommand): Promise<AttachedProcess> {
    if (!ref.containerId) throw new Error(`worker ${ref.key.service}/${ref.key.index} has no container`);
    return dockerAttach(this.client.socket, ref.containerId, command);
  }

  /**
   * The cloud's copy of an image, loaded into Docker unless it has that image (docker-images.ts).
   * Workers of one image starting together share one `docker load` of its tarball; the ID Docker
   * gave it is remembered (while the agent runs), for Docker's containerd image store.
   */
  async prepareImage(image: string, cloud: PlannedImage, options: CloudImageOptions): Promise<string> {
    const key = `${image}\n${cloud.sha256}`;
    const done = await loadCloudImage(this.client, image, cloud, options, {
      loadedAs: this.loadedAs.get(key),
      load: (tarball) => {
        let loading = this.loads.get(tarball);
        if (!loading) {
          loading = loadImage(this.client, Bun.file(tarball)).finally(() => this.loads.delete(tarball));
          this.loads.set(tarball, loading);
        }
        return loading;
      },
    });
    this.loadedAs.set(key, done.id);
    return done.outcome;
  }

  /** Creates the container; a leftover of the same instance (a retried start) is replaced once. */
  private async create(name: string, body: ReturnType<typeof containerCreateBody>, spec: LaunchSpec) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.createContainer(name, body);
      } catch (err) {
        if (!(err instanceof DockerApiError)) throw err;
        if (err.status === 409 && attempt === 0) {
          const existing = await this.client.inspectContainer(name);
          if (existing && labelsMatch(spec.key, existing.Config.Labels)) {
            if (existing.Config.Labels?.[LABEL.agent] !== spec.agentId) throw err;
            await this.client.removeContainer(existing.Id, { force: true });
            continue;
          }
          throw err;
        }
        if (isSpecError(err.status, err.detail))
          throw new WorkerSpecError(`cannot create container ${name} (image "${body.Image}"): ${err.detail}`);
        throw err;
      }
    }
  }

  /** Removes the stopped containers whose labels match (best effort), keeping their log first. */
  private async removeStopped(labels: Record<string, string>, keep: KeepLog | undefined): Promise<void> {
    const containers = await this.client.listContainers({ labels, all: true });
    for (const container of containers)
      if (!isActive(container.State)) {
        await keep?.(container.Id);
        await this.client.removeContainer(container.Id, { force: true }).catch(() => {});
      }
  }
}

function isActive(state: string): boolean {
  return state === "running" || state === "paused" || state === "restarting";
}

const GONE: ExitInfo = { exitCode: null, signal: null, reason: "the container was removed" };

/** One started or adopted container. */
class ContainerInstance implements Instance {
  readonly exited: Promise<ExitInfo>;
  private resolveExited: (info: ExitInfo) => void = () => {};
  private ended = false;
  private readonly watching = new AbortController();
  private stopping: Promise<ExitInfo> | undefined;

  constructor(
    private readonly client: DockerClient,
    readonly ref: InstanceRef & { containerId: string },
    private readonly keep?: KeepLog | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    void this.watch();
  }

  async signal(signal: string): Promise<void> {
    await this.client.killContainer(this.ref.containerId, normalizeSignal(signal));
  }

  async exec(command: string[], timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    try {
      const { exitCode, output } = await this.client.exec(this.ref.containerId, command, { timeoutMs });
      const text = output.trim().slice(0, 200);
      return { ok: exitCode === 0, detail: `command exited ${exitCode ?? "?"}${text ? `: ${text}` : ""}` };
    } catch (err) {
      const e = err as Error;
      const why = e.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : e.message;
      return { ok: false, detail: `command in the container: ${why}` };
    }
  }

  stop(timeoutMs: number): Promise<ExitInfo> {
    this.stopping ??= this.stopAndRemove(timeoutMs).catch((err) => {
      this.stopping = undefined;
      throw err;
    });
    return this.stopping;
  }

  private async stopAndRemove(timeoutMs: number): Promise<ExitInfo> {
    const id = this.ref.containerId;
    if (!this.ended) {
      await this.client.stopContainer(id, Math.max(0, timeoutMs) / 1000);
      const info = await this.client.inspectContainer(id);
      if (!info) this.finish(GONE);
      else if (!info.State.Running) this.finish(exitInfoFromState(info.State));
    }
    await this.keep?.(id);
    await this.client.removeContainer(id, { force: true });
    this.finish(GONE);
    return this.exited;
  }

  private finish(info: ExitInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.watching.abort();
    this.resolveExited(info);
  }

  /**
   * Long-polls Docker's wait; when the connection drops (daemon restarted, socket closed) the
   * container is inspected again and watched again while it still runs.
   */
  private async watch(): Promise<void> {
    const id = this.ref.containerId;
    let delay = 100;
    while (!this.ended) {
      let state: ContainerInspect | undefined;
      try {
        const result = await this.client.waitContainer(id, { signal: this.watching.signal });
        state = await this.client.inspectContainer(id).catch(() => undefined);
        this.finish(
          state && !state.State.Running
            ? exitInfoFromState(state.State)
            : exitInfoFromCode(result.StatusCode),
        );
        return;
      } catch (err) {
        if (this.ended) return;
        if (err instanceof DockerApiError && err.status === 404) return this.finish(GONE);
      }
      try {
        state = await this.client.inspectContainer(id);
        if (!state) return this.finish(GONE);
        if (!state.State.Running) return this.finish(exitInfoFromState(state.State));
        delay = 100;
      } catch {
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
      await sleep(delay, this.watching.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
