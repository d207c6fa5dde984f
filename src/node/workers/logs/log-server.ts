// The node's side of `levee ctl logs` (docs/PROTOCOL.md, "Logs"): the cloud publishes a log
// request on levee/v1/node/<node>/logs; the node finds the worker's log through `openLog` (exec:
// its files, container: Docker's log) and uploads it as the streaming body of
// POST <cloud>/api/v1/logs/streams/<id>, authenticated with its MQTT credentials (HTTP Basic).
// The cloud pipes that body into the waiting client's response, so TCP backpressure reaches the
// reads here: a chunk is read only when the previous one was sent. The cloud answers the POST
// when the stream is done or the client went away; either way the node then stops reading (a
// follow ends). A worker that does not exist is reported to .../streams/<id>/error with a status
// that the cloud relays. A metrics request is answered the same way, with the text of the agent's
// /metrics (the cloud's GET /api/v1/nodes/<node>/metrics, for Prometheus).
import {
  decodeLogRequest,
  type ExecRequest,
  type LogRequest,
  type LogStreamError,
  logsTopic,
  type MetricsRequest,
  type NodeRequest,
} from "../../../protocol/log-request.ts";
import type { Logger } from "../../../runtime/log.ts";
import type { LogReadOptions } from "../drivers/driver.ts";

/** A worker's log, or why there is none (status: the HTTP status the client gets, e.g. 404). */
export type LogSource = AsyncIterable<Uint8Array> | LogStreamError;

/** Finds a worker's log (the supervisor's: exec workers' files, containers' Docker log). */
export type OpenLog = (
  service: string,
  index: number,
  options: LogReadOptions,
) => LogSource | Promise<LogSource>;

/** How the log server receives the cloud's requests: a topic subscription on the node's MQTT link. */
export interface TopicSubscriber {
  subscribe(topic: string, handler: (payload: Buffer) => void): void;
}

export interface LogServerOptions {
  node: string;
  /** The cloud API's base URL, e.g. http://10.0.0.1:7400 (read when a request arrives). */
  cloudUrl: () => string | undefined;
  /** The node's MQTT credentials: HTTP Basic for the upload. */
  username: string;
  password: string;
  openLog: OpenLog;
  /** The agent's metrics in Prometheus' text format; without it a metrics request gets 404. */
  metrics?: (() => Promise<string>) | undefined;
  /** Serves an exec request (levee ctl exec, exec-server.ts); without it they are dropped. */
  exec?: ((request: ExecRequest) => void) | undefined;
  log: Logger;
  /** Uploads at the same time; more are refused with 429 (default 16). */
  maxStreams?: number;
  /** Time for the cloud to answer an error report (default 10 s). */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_STREAMS = 16;
/** How long a new source may take to fail before its upload starts anyway (a quiet follow). */
const FIRST_CHUNK_WAIT_MS = 500;

export class LogServer {
  private readonly active = new Map<string, AbortController>();
  private closed = false;

  constructor(private readonly options: LogServerOptions) {}

  /** Streams being uploaded now. */
  streams(): number {
    return this.active.size;
  }

  /** A payload from levee/v1/node/<node>/logs: decoded, then served (never throws). */
  onMessage(payload: Buffer): void {
    const decoded = decodeLogRequest(this.options.node, payload);
    if (!decoded.ok) {
      this.options.log.warn("log request dropped", { reason: decoded.reason });
      return;
    }
    const request = decoded.request;
    if (request.type === "metrics") void this.serveMetrics(request);
    else if (request.type === "exec") {
      if (this.options.exec && !this.closed) this.options.exec(request);
      else this.options.log.warn("exec request dropped: this agent serves none", { session: request.id });
    } else void this.serve(request);
  }

  /** Uploads the agent's metrics text (small: one POST with a whole body). */
  async serveMetrics(request: MetricsRequest): Promise<void> {
    const { metrics, log } = this.options;
    if (this.closed) return;
    if (!metrics) {
      await this.report(request, { status: 404, error: `node ${this.options.node} serves no metrics` });
      return;
    }
    let text: string;
    try {
      text = await metrics();
    } catch (err) {
      await this.report(request, { status: 500, error: `cannot collect the metrics: ${message(err)}` });
      return;
    }
    try {
      const res = await fetch(this.url(request), {
        method: "POST",
        headers: { authorization: this.authorization(), "content-type": "text/plain; version=0.0.4" },
        body: text,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
      await res.body?.cancel();
      if (!res.ok) log.debug("metrics upload refused", { stream: request.id, status: res.status });
    } catch (err) {
      log.warn("cannot upload the metrics to the cloud", { stream: request.id, error: err });
    }
  }

  /** Serves one request; resolves when its upload is over. */
  async serve(request: LogRequest): Promise<void> {
    const { log } = this.options;
    const where = { stream: request.id, service: request.service, index: request.index };
    if (this.closed || this.active.has(request.id)) return;
    const max = this.options.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (this.active.size >= max) {
      await this.report(request, {
        status: 429,
        error: `node ${this.options.node} is already streaming ${max} logs`,
      });
      return;
    }
    // `stop` ends everything (agent shutdown); `reading` ends the source once the upload is over
    // (a cancelled upload must not abort the request itself: its answer says why it ended).
    const stop = new AbortController();
    const reading = new AbortController();
    stop.signal.addEventListener("abort", () => reading.abort(), { once: true });
    this.active.set(request.id, stop);
    try {
      const source = await this.open(request, reading.signal);
      if ("error" in source) {
        await this.report(request, source);
        return;
      }
      // A source that fails at once (a container Docker does not know) is an error the client
      // should see as such, not an empty 200: wait briefly for the first chunk before uploading.
      const iterator = source[Symbol.asyncIterator]();
      const first = iterator.next();
      const early = await Promise.race([
        first.then(
          () => undefined,
          (err: unknown) => err ?? new Error("failed"),
        ),
        new Promise<undefined>((resolve) => setTimeout(resolve, FIRST_CHUNK_WAIT_MS)),
      ]);
      if (early !== undefined) {
        await this.report(request, {
          status: statusOf(early),
          error: `cannot read the log of ${request.service}/${request.index}: ${message(early)}`,
        });
        return;
      }
      log.debug("log stream started", { ...where, follow: request.follow, tail: request.tail });
      const status = await this.upload(request, iterator, first, reading, stop.signal);
      log.debug("log stream ended", { ...where, status });
    } catch (err) {
      if (!this.closed) log.warn("log stream failed", { ...where, error: err });
    } finally {
      reading.abort();
      this.active.delete(request.id);
    }
  }

  /** Aborts every upload (agent shutdown). */
  close(): void {
    this.closed = true;
    for (const abort of this.active.values()) abort.abort();
    this.active.clear();
  }

  private async open(request: LogRequest, signal: AbortSignal): Promise<LogSource> {
    try {
      return await this.options.openLog(request.service, request.index, {
        tail: request.tail ?? undefined,
        follow: request.follow && !request.previous,
        since: request.since === undefined ? undefined : new Date(request.since),
        timestamps: request.timestamps,
        previous: request.previous,
        signal,
      });
    } catch (err) {
      return {
        status: 500,
        error: `cannot read the log of ${request.service}/${request.index}: ${message(err)}`,
      };
    }
  }

  private url(request: NodeRequest, suffix = ""): string {
    const base = this.options.cloudUrl();
    if (!base) throw new Error("this node does not know the cloud's URL (meta cloud-url)");
    return `${base.replace(/\/+$/, "")}/api/v1/logs/streams/${encodeURIComponent(request.id)}${suffix}`;
  }

  private authorization(): string {
    const { username, password } = this.options;
    return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
  }

  /** Tells the cloud there is no stream for this request, and why. */
  private async report(request: NodeRequest, failure: LogStreamError): Promise<void> {
    try {
      const res = await fetch(this.url(request, "/error"), {
        method: "POST",
        headers: { authorization: this.authorization(), "content-type": "application/json" },
        body: JSON.stringify({ status: failure.status, error: failure.error }),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
      await res.body?.cancel();
      if (!res.ok)
        this.options.log.debug("log error report refused", { stream: request.id, status: res.status });
    } catch (err) {
      this.options.log.warn("cannot report a log error to the cloud", { stream: request.id, error: err });
    }
  }

  /**
   * POSTs the log as a streaming body; resolves with the cloud's answer status once the cloud is
   * done with it (stream complete, or the client went away: then the upload is cut short).
   */
  private async upload(
    request: LogRequest,
    iterator: AsyncIterator<Uint8Array>,
    first: Promise<IteratorResult<Uint8Array>>,
    reading: AbortController,
    signal: AbortSignal,
  ) {
    let pending: Promise<IteratorResult<Uint8Array>> | undefined = first;
    const finish = () => {
      reading.abort();
      void iterator.return?.()?.catch(() => {});
    };
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const next = await (pending ?? iterator.next());
            pending = undefined;
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          } catch (err) {
            controller.error(err);
          }
        },
        cancel: finish,
      },
      { highWaterMark: 0 },
    );
    try {
      const res = await fetch(this.url(request), {
        method: "POST",
        headers: { authorization: this.authorization(), "content-type": "application/octet-stream" },
        body,
        signal,
        duplex: "half",
      } as RequestInit);
      await res.body?.cancel();
      return res.status;
    } finally {
      finish();
    }
  }
}

/** Starts serving log requests that arrive on the node's link. */
export function startLogServer(link: TopicSubscriber, options: LogServerOptions): LogServer {
  const server = new LogServer(options);
  link.subscribe(logsTopic(options.node), (payload) => server.onMessage(payload));
  return server;
}

/** The HTTP status for a source that failed: its own 4xx (e.g. Docker's 404), else 500. */
function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500 ? status : 500;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What startNodeLogServer needs of the agent (a LocalNode has it). */
export interface LogServerHost {
  log: Logger;
  /** The agent's metrics registry (served to the cloud's scrapes of this node). */
  metrics?: { metrics(): Promise<string> };
  lifecycle: { add(name: string, close: () => void): void };
}

/**
 * Serves this node's log requests for the agent: `identity` from the join, `cloudUrl` the cloud
 * API (an edge: meta cloud-url; the cloud's own node: its API URL), `openLog` the supervisor's
 * (which knows where each worker's output is: files or Docker). Closed with the agent.
 */
export function startNodeLogServer(
  host: LogServerHost,
  link: TopicSubscriber,
  identity: { name: string; username: string; password: string },
  cloudUrl: () => string | undefined,
  openLog: OpenLog,
  exec?: (request: ExecRequest) => void,
): LogServer {
  const registry = host.metrics;
  const server = startLogServer(link, {
    node: identity.name,
    cloudUrl,
    username: identity.username,
    password: identity.password,
    openLog,
    metrics: registry ? () => registry.metrics() : undefined,
    exec,
    log: host.log.child({ component: "logs" }),
  });
  host.lifecycle.add("log-server", () => server.close());
  return server;
}
