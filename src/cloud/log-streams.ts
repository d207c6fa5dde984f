// The cloud's registry of log streams (`levee ctl logs`, docs/PROTOCOL.md "Logs"). A client's
// request gets a random stream id and waits here while the node is asked over MQTT; the node
// answers by POSTing the log to /api/v1/logs/streams/<id>, and deliver() hands that body to the
// waiting client. The bytes are never buffered here: the client's response pulls one chunk from
// the node's upload at a time (highWaterMark 0), so TCP backpressure runs end to end and memory
// stays bounded however big the log or slow the client. Either side going away ends both: a
// client that disconnects cancels the upload (the node's POST is answered 410 and it stops
// reading), and an upload that ends or breaks ends the client's response. A scrape of a node's
// metrics (GET /api/v1/nodes/<node>/metrics) is one more request of the same kind: the node
// uploads its agent's /metrics text the same way.
import {
  encodeLogRequest,
  type NodeRequest,
  newLogRequest,
  newMetricsRequest,
  newStreamId,
} from "../protocol/log-request.ts";
import { logsTopic } from "../protocol/topics.ts";
import { describeError } from "../runtime/errors.ts";
import { type NodeConnected, notConnectedMessage } from "./node-session.ts";

export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;
/** Streams waiting or flowing at once; more are refused (429). */
export const DEFAULT_MAX_STREAMS = 256;

export interface LogStreamRequest {
  node: string;
  service: string;
  index: number;
  tail: number | null;
  follow: boolean;
  /** Only what was written at or after this time (RFC 3339). */
  since?: string | undefined;
  timestamps?: boolean | undefined;
  /** The run before the last restart. */
  previous?: boolean | undefined;
}

/** What the client gets: the node's stream, or an error with the HTTP status to answer. */
export type LogAnswer =
  | { ok: true; body: ReadableStream<Uint8Array> }
  | { ok: false; status: number; error: string };

/** What the node's POST gets. */
export interface DeliveryResult {
  status: 200 | 400 | 403 | 404 | 410;
  message: string;
}

export interface LogStreamsOptions {
  /** Publishes on an MQTT topic (QoS 1); false when the cloud is not connected to the broker. */
  publish: (topic: string, payload: Buffer) => boolean;
  /** Whether the node has a broker session now, when the cloud can know (node-session.ts). */
  connected?: NodeConnected | undefined;
  /** How long a node has to answer (default 10 s). */
  answerTimeoutMs?: number;
  maxStreams?: number;
}

interface Pending {
  node: string;
  request: NodeRequest;
  answer: (answer: LogAnswer) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class LogStreams {
  private readonly pending = new Map<string, Pending>();
  /** Streams flowing: how to end each one (its node went away). */
  private readonly flows = new Map<string, { node: string; end: (reason: string) => void }>();

  constructor(private readonly options: LogStreamsOptions) {}

  /** Streams waiting for their node, and streams flowing. */
  counts(): { pending: number; flowing: number } {
    return { pending: this.pending.size, flowing: this.flows.size };
  }

  /**
   * Asks the node for a worker's log; resolves with the node's stream or an error (the node's own,
   * 503 not connected to the broker, 504 no answer in time). `signal`: the client went away.
   */
  request(what: LogStreamRequest, signal?: AbortSignal): Promise<LogAnswer> {
    const { since, timestamps, previous, ...always } = what;
    const request = newLogRequest({
      ...always,
      ...(since !== undefined ? { since } : {}),
      ...(timestamps ? { timestamps } : {}),
      ...(previous ? { previous } : {}),
      id: newStreamId(),
    });
    return this.ask(what.node, request, signal);
  }

  /** Asks the node for its agent's Prometheus metrics; the answer's body is their text. */
  metrics(node: string, signal?: AbortSignal): Promise<LogAnswer> {
    return this.ask(node, newMetricsRequest(node), signal);
  }

  private ask(node: string, request: NodeRequest, signal?: AbortSignal): Promise<LogAnswer> {
    const max = this.options.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (this.pending.size + this.flows.size >= max)
      return Promise.resolve({
        ok: false,
        status: 429,
        error: `the cloud is already serving ${max} log streams`,
      });
    return new Promise<LogAnswer>((resolve) => {
      if (this.options.connected?.(node) === false)
        return resolve({
          ok: false,
          status: 503,
          error: notConnectedMessage(node),
        });
      const timeoutMs = this.options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
      const settle = (answer: LogAnswer) => {
        const entry = this.pending.get(request.id);
        if (!entry) return;
        clearTimeout(entry.timer);
        this.pending.delete(request.id);
        signal?.removeEventListener("abort", gone);
        resolve(answer);
      };
      const gone = () => settle({ ok: false, status: 499, error: "the client went away" });
      const timer = setTimeout(
        () =>
          settle({
            ok: false,
            status: 504,
            error: `node ${node} did not answer the ${request.type === "logs" ? "log" : "metrics"} request within ${Math.round(timeoutMs / 1000)} s`,
          }),
        timeoutMs,
      );
      this.pending.set(request.id, { node, request, answer: settle, timer });
      if (signal?.aborted) return gone();
      signal?.addEventListener("abort", gone, { once: true });
      let sent = false;
      try {
        sent = this.options.publish(logsTopic(node), encodeLogRequest(request));
      } catch {
        sent = false;
      }
      if (!sent)
        settle({ ok: false, status: 503, error: "the cloud is not connected to the MQTT broker; try again" });
    });
  }

  /** The node reports that it has no stream for the request (e.g. 404: no such worker). */
  fail(id: string, node: string, status: number, error: string): DeliveryResult {
    const entry = this.claim(id, node);
    if ("status" in entry) return entry;
    entry.answer({ ok: false, status, error });
    return { status: 200, message: "relayed" };
  }

  /**
   * The node's upload for stream `id`: handed to the waiting client. Resolves when the transfer
   * is over: 200 all of it went through, 410 the client went away, 400 the upload broke.
   */
  deliver(id: string, node: string, upload: ReadableStream<Uint8Array>): Promise<DeliveryResult> {
    const entry = this.claim(id, node);
    if ("status" in entry) {
      void upload.cancel().catch(() => {});
      return Promise.resolve(entry);
    }
    let finish!: (result: DeliveryResult) => void;
    const done = new Promise<DeliveryResult>((resolve) => {
      let settled = false;
      finish = (result) => {
        if (settled) return;
        settled = true;
        this.flows.delete(id);
        resolve(result);
      };
    });
    const reader = upload.getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.flows.set(id, {
            node,
            end: (reason) => {
              void reader.cancel().catch(() => {});
              controller.error(new Error(reason));
              finish({ status: 410, message: reason });
            },
          });
        },
        async pull(controller) {
          try {
            const next = await reader.read();
            if (next.done) {
              controller.close();
              finish({ status: 200, message: "delivered" });
            } else controller.enqueue(next.value);
          } catch (err) {
            controller.error(err);
            finish({ status: 400, message: `the upload broke: ${describeError(err)}` });
          }
        },
        cancel() {
          void reader.cancel().catch(() => {});
          finish({ status: 410, message: "the client went away" });
        },
      },
      { highWaterMark: 0 },
    );
    entry.answer({ ok: true, body });
    return done;
  }

  /**
   * The node went away (Disconnected): its waiting requests fail with 503 and its flowing streams
   * break off, rather than hang until TCP notices (a follow would never end otherwise).
   */
  endNode(node: string, reason: string): void {
    for (const entry of [...this.pending.values()])
      if (entry.node === node) entry.answer({ ok: false, status: 503, error: reason });
    for (const flow of [...this.flows.values()]) if (flow.node === node) flow.end(reason);
  }

  /** Ends every waiting and flowing stream (cloud shutdown). */
  close(): void {
    for (const entry of [...this.pending.values()])
      entry.answer({ ok: false, status: 503, error: "the cloud is shutting down" });
    for (const flow of [...this.flows.values()]) flow.end("the cloud is shutting down");
  }

  /** The pending stream `id` of `node`, taken out of the waiting list; or the answer for a bad one. */
  private claim(id: string, node: string): Pending | DeliveryResult {
    const entry = this.pending.get(id);
    if (!entry)
      return {
        status: 404,
        message: `no log stream ${id} is waiting (it timed out, or its client went away)`,
      };
    if (entry.node !== node) return { status: 403, message: `log stream ${id} is not for node ${node}` };
    clearTimeout(entry.timer);
    return entry;
  }
}
