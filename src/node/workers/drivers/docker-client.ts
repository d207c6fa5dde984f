// A small client of the Docker Engine API, spoken as HTTP over dockerd's unix socket (no docker
// CLI): the operations the container driver needs, and log streaming for `levee ctl logs`. The API
// version is pinned (v1.41: Docker 20.10, Debian 12's docker.io, and every later engine).
// Errors say what failed: an unreachable daemon names its socket (DockerUnreachableError), an API
// error carries the status and Docker's message (DockerApiError), a missing image is a
// WorkerSpecError naming the image.

import { Demultiplexer } from "./docker-stream.ts";
import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerSummary,
  DockerLogOptions,
  ImageInspect,
  WaitResult,
} from "./docker-types.ts";

export type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerState,
  ContainerSummary,
  DockerLogOptions,
  ImageInspect,
  WaitResult,
} from "./docker-types.ts";

import { LeveeError, RecoverableError } from "../../../runtime/errors.ts";
import { WorkerSpecError } from "./driver.ts";

export const DOCKER_API_VERSION = "v1.41";
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The daemon did not answer on its socket (not running, no permission, connection lost). */
export class DockerUnreachableError extends RecoverableError {}

/** Docker answered with an error status. */
export class DockerApiError extends LeveeError {
  /** A 5xx may pass; a 4xx (no such image, a bad spec) will not. */
  readonly recoverable: boolean;
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    /** Docker's own message, e.g. "No such container: 1234". */
    readonly detail: string,
  ) {
    super(`Docker API ${method} ${path.split("?")[0]}: ${status} ${detail}`);
    this.recoverable = status >= 500;
  }
}

export interface RequestOptions {
  method?: string;
  /** JSON body. */
  body?: unknown;
  /** A raw body (an image tarball, streamed) and its media type. */
  raw?: { body: ReadableStream<Uint8Array> | Blob; contentType: string } | undefined;
  signal?: AbortSignal | undefined;
  /** Socket idle timeout in ms; false for long polls (wait, follow). Default 60 s. */
  idleTimeout?: number | false;
}

const UNREACHABLE_HINT: Record<string, string> = {
  ENOENT: "the socket does not exist: is dockerd installed and running?",
  ECONNREFUSED: "nothing listens on the socket: is dockerd running?",
  EACCES: "permission denied: the agent must run as root or in the docker group",
  EPERM: "permission denied: the agent must run as root or in the docker group",
  ECONNRESET: "the connection was reset",
};

export class DockerClient {
  readonly socket: string;

  constructor(options: { socket?: string | undefined } = {}) {
    this.socket = options.socket ?? DEFAULT_DOCKER_SOCKET;
  }

  /** GET /_ping: resolves when the daemon answers. */
  async ping(): Promise<void> {
    const response = await this.request("/_ping");
    await response.text();
  }

  async version(): Promise<{ Version: string; ApiVersion: string }> {
    return (await this.json("/version")) as { Version: string; ApiVersion: string };
  }

  /** The image, or undefined when this daemon does not have it. */
  async inspectImage(image: string): Promise<ImageInspect | undefined> {
    return (await this.jsonOrMissing(`/images/${encodeURIComponent(image)}/json`)) as
      | ImageInspect
      | undefined;
  }

  /** Creates a container and returns its id. A missing image is a WorkerSpecError naming it. */
  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    try {
      const created = (await this.json(`/containers/create?name=${encodeURIComponent(name)}`, {
        method: "POST",
        body,
      })) as { Id?: unknown };
      if (typeof created.Id !== "string") throw new Error("Docker created a container but sent no Id");
      return created.Id;
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 404 && /no such image/i.test(err.detail))
        throw missingImage(body.Image);
      throw err;
    }
  }

  async startContainer(id: string): Promise<void> {
    await this.noContent(`/containers/${encodeURIComponent(id)}/start`, { method: "POST" }, [304]);
  }

  /**
   * SIGTERM (the container's stop signal), then SIGKILL after timeoutSeconds; resolves once the
   * container stopped. "not-running" and "gone" are not errors.
   */
  async stopContainer(id: string, timeoutSeconds: number): Promise<"stopped" | "not-running" | "gone"> {
    const t = Math.max(0, Math.ceil(timeoutSeconds));
    const status = await this.noContent(
      `/containers/${encodeURIComponent(id)}/stop?t=${t}`,
      { method: "POST", idleTimeout: t * 1000 + 60_000 },
      [304, 404],
    );
    return status === 304 ? "not-running" : status === 404 ? "gone" : "stopped";
  }

  /** Sends a signal (e.g. "SIGHUP") to the container's main process; false if it does not run. */
  async killContainer(id: string, signal: string): Promise<boolean> {
    const path = `/containers/${encodeURIComponent(id)}/kill?signal=${encodeURIComponent(signal)}`;
    try {
      await this.noContent(path, { method: "POST" }, []);
      return true;
    } catch (err) {
      if (err instanceof DockerApiError && (err.status === 404 || err.status === 409)) return false;
      throw err;
    }
  }

  /** Removes the container (force: kills it first); false when it was already gone. */
  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<boolean> {
    const path = `/containers/${encodeURIComponent(id)}?force=${options.force ? 1 : 0}`;
    try {
      const status = await this.noContent(path, { method: "DELETE" }, [404]);
      return status !== 404;
    } catch (err) {
      // 409 "removal of container X is already in progress": someone else removes it.
      if (err instanceof DockerApiError && err.status === 409 && /already in progress/i.test(err.detail))
        return true;
      throw err;
    }
  }

  /** The container (by id or name), or undefined when there is none. */
  async inspectContainer(idOrName: string): Promise<ContainerInspect | undefined> {
    return (await this.jsonOrMissing(`/containers/${encodeURIComponent(idOrName)}/json`)) as
      | ContainerInspect
      | undefined;
  }

  /**
   * The container's resource usage, read once (GET /containers/{id}/stats?stream=false&one-shot=true:
   * precpu_stats left empty), or undefined when there is no such container.
   */
  async containerStats(id: string, options: { signal?: AbortSignal | undefined } = {}): Promise<unknown> {
    return this.jsonOrMissing(
      `/containers/${encodeURIComponent(id)}/stats?stream=false&one-shot=true`,
      options,
    );
  }

  /**
   * Long poll until the container is not running (POST /containers/{id}/wait); its exit code.
   * Rejects when the connection drops (the caller re-inspects) or the signal aborts.
   */
  async waitContainer(id: string, options: { signal?: AbortSignal | undefined } = {}): Promise<WaitResult> {
    const result = (await this.json(`/containers/${encodeURIComponent(id)}/wait?condition=not-running`, {
      method: "POST",
      signal: options.signal,
      idleTimeout: false,
    })) as WaitResult;
    if (typeof result.StatusCode !== "number") throw new Error(`Docker's wait for ${id} sent no StatusCode`);
    return result;
  }

  /**
   * Containers whose labels match: {key: value} requires that value, {key: undefined} only the
   * label. all: stopped ones too.
   */
  async listContainers(
    options: { labels?: Record<string, string | undefined>; all?: boolean } = {},
  ): Promise<ContainerSummary[]> {
    const label = Object.entries(options.labels ?? {}).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
    const query = new URLSearchParams({ all: options.all ? "1" : "0" });
    if (label.length > 0) query.set("filters", JSON.stringify({ label }));
    return (await this.json(`/containers/json?${query}`)) as ContainerSummary[];
  }

  /**
   * The container's output (stdout and stderr interleaved as Docker kept it), demultiplexed into
   * plain bytes. With follow it keeps streaming until the container stops or the signal aborts;
   * an abort ends the iteration quietly.
   */
  async *logs(id: string, options: DockerLogOptions = {}): AsyncGenerator<Uint8Array> {
    const info = await this.inspectContainer(id);
    if (!info) throw new DockerApiError(404, "GET", `/containers/${id}/logs`, `No such container: ${id}`);
    const query = new URLSearchParams({
      stdout: options.stdout === false ? "0" : "1",
      stderr: options.stderr === false ? "0" : "1",
      follow: options.follow ? "1" : "0",
      tail: options.tail === undefined ? "all" : String(Math.max(0, Math.floor(options.tail))),
      timestamps: options.timestamps ? "1" : "0",
    });
    if (options.since) query.set("since", (options.since.getTime() / 1000).toFixed(3));
    const signal = options.signal;
    let response: Response;
    try {
      response = await this.request(`/containers/${encodeURIComponent(id)}/logs?${query}`, {
        signal,
        idleTimeout: options.follow ? false : undefined,
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
    if (!response.body) return;
    const demux = info.Config.Tty ? undefined : new Demultiplexer();
    const reader = response.body.getReader();
    try {
      for (;;) {
        let chunk: Uint8Array;
        try {
          const read = await reader.read();
          if (read.done) return;
          chunk = read.value;
        } catch (err) {
          if (signal?.aborted) return;
          throw this.unreachable(err, `reading the logs of ${id}`);
        }
        if (!demux) yield chunk;
        else for (const frame of demux.push(chunk)) yield frame.data;
      }
    } finally {
      // Also when the consumer stops early: closes the connection (a follow would last forever).
      await reader.cancel().catch(() => {});
    }
  }

  /**
   * Runs a command inside a running container (`docker exec`) and waits for it: exit code and the
   * first bytes of its output. Used for command health checks of container workers.
   */
  async exec(
    id: string,
    command: string[],
    options: { timeoutMs: number },
  ): Promise<{ exitCode: number | null; output: string }> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const created = (await this.json(`/containers/${encodeURIComponent(id)}/exec`, {
      method: "POST",
      body: { Cmd: command, AttachStdout: true, AttachStderr: true, Tty: false },
      signal,
    })) as { Id?: string };
    if (!created.Id) throw new Error(`Docker API exec: no exec id for ${id}`);
    const response = await this.request(`/exec/${created.Id}/start`, {
      method: "POST",
      body: { Detach: false, Tty: false },
      signal,
      idleTimeout: false,
    });
    const demux = new Demultiplexer();
    const kept: Uint8Array[] = [];
    let size = 0;
    if (response.body) {
      for await (const chunk of response.body) {
        for (const frame of demux.push(chunk)) {
          if (size < 4096) kept.push(frame.data);
          size += frame.data.length;
        }
      }
    }
    const info = (await this.json(`/exec/${created.Id}/json`)) as { ExitCode?: number | null };
    return { exitCode: info.ExitCode ?? null, output: Buffer.concat(kept).toString("utf8").slice(0, 4096) };
  }

  /** Any API call (docker-images.ts): the response of a 2xx, else DockerApiError or DockerUnreachableError. */
  call(path: string, options: RequestOptions = {}): Promise<Response> {
    return this.request(path, options);
  }

  // ---- transport ----

  private url(path: string): string {
    return `http://docker/${DOCKER_API_VERSION}${path}`;
  }

  /** Sends a request; throws DockerUnreachableError or DockerApiError (status >= 400). */
  private async request(path: string, options: RequestOptions = {}): Promise<Response> {
    const method = options.method ?? "GET";
    const init: RequestInit & { unix: string; timeout: number | boolean } = {
      method,
      unix: this.socket,
      signal: options.signal ?? null,
      timeout: options.idleTimeout === false ? false : (options.idleTimeout ?? 60_000),
    };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { "content-type": "application/json" };
    } else if (options.raw) {
      init.body = options.raw.body;
      init.headers = { "content-type": options.raw.contentType };
    }
    let response: Response;
    try {
      response = await fetch(this.url(path), init);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      throw this.unreachable(err, `${method} ${path.split("?")[0]}`);
    }
    if (response.status >= 400) {
      const text = await response.text().catch(() => "");
      throw new DockerApiError(response.status, method, path, errorMessage(text, response.statusText));
    }
    return response;
  }

  private async json(path: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.request(path, options);
    const method = options.method ?? "GET";
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      throw this.unreachable(err, `${method} ${path.split("?")[0]}`);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`Docker API ${method} ${path.split("?")[0]}: not JSON: ${text.slice(0, 200)}`);
    }
  }

  private async jsonOrMissing(path: string, options: RequestOptions = {}): Promise<unknown> {
    try {
      return await this.json(path, options);
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A request without a useful body; returns the status (2xx or one of `allowed`). */
  private async noContent(path: string, options: RequestOptions, allowed: number[]): Promise<number> {
    try {
      const response = await this.request(path, options);
      await response.arrayBuffer().catch(() => {});
      return response.status;
    } catch (err) {
      if (err instanceof DockerApiError && allowed.includes(err.status)) return err.status;
      throw err;
    }
  }

  private unreachable(err: unknown, what: string): Error {
    if (err instanceof DockerUnreachableError || err instanceof DockerApiError) return err;
    const code = (err as { code?: unknown })?.code;
    const hint =
      (typeof code === "string" && UNREACHABLE_HINT[code]) ||
      (err instanceof Error ? err.message : String(err));
    const label = typeof code === "string" ? `${code}: ` : "";
    return new DockerUnreachableError(
      `Docker daemon not reachable at unix://${this.socket} (${what}): ${label}${hint}`,
    );
  }
}

/** The WorkerSpecError for an image this node does not have. */
export function missingImage(image: string): WorkerSpecError {
  return new WorkerSpecError(
    `image "${image}" is not on this node and the cloud has no copy: push it with \`levee ctl image push ${image}\` (or load it here with \`docker load\`); levee does not pull from registries`,
  );
}

function errorMessage(body: string, fallback: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message.trim();
  } catch {
    // not JSON: use the text itself
  }
  return body.trim() || fallback;
}
