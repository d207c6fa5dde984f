// The node's side of `levee ctl exec` (docs/PROTOCOL.md, "Exec"): the cloud publishes an exec
// request on levee/v1/node/<node>/logs (the log server hands it here); the node opens a WebSocket
// back to the cloud, GET <cloud>/api/v1/exec/sessions/<id> with its MQTT credentials (HTTP Basic),
// since the cloud cannot call a node, and runs the command in the worker through the supervisor
// (its driver's attach()). Its stdout and stderr go out as data frames, sent only while the
// socket's send buffer is short (so a slow client slows the reading, not the node's memory); stdin,
// stdin-end and resize come in; the exit code is the last message. A socket that closes first
// ends the command. At most maxSessions run at once; one more is told 429 on its socket.
import { constants } from "node:os";
import {
  type ControlBody,
  decodeMessage,
  type ExecCommand,
  encodeChunks,
  encodeControl,
  type StreamName,
} from "../../../protocol/exec-session.ts";
import type { ExecRequest } from "../../../protocol/log-request.ts";
import type { Logger } from "../../../runtime/log.ts";
import { type AttachedProcess, exitStatus } from "../drivers/attached-process.ts";
import type { AttachResult } from "./worker-attach.ts";

export const DEFAULT_MAX_SESSIONS = 8;
/** Stop reading the command's output while this much waits in the socket's send buffer. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** How long output may still come after the command exited (a child holding stdout open). */
const OUTPUT_GRACE_MS = 2000;
const CONNECT_TIMEOUT_MS = 10_000;

/** The WebSocket as the server uses it (the global WebSocket; a fake in tests). */
export interface ExecSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface ExecServerOptions {
  node: string;
  /** The cloud API's base URL (http: or https:), read when a request arrives. */
  cloudUrl: () => string | undefined;
  username: string;
  password: string;
  attach: (service: string, index: number, command: ExecCommand) => Promise<AttachResult>;
  log: Logger;
  maxSessions?: number;
  /** Opens the session's socket (default: Bun's WebSocket with the Authorization header). */
  connect?: (url: string, headers: Record<string, string>) => ExecSocket;
}

const OPEN = 1;

export class ExecServer {
  private readonly sessions = new Set<{ abort: () => void }>();
  private closed = false;

  constructor(private readonly options: ExecServerOptions) {}

  /** Sessions running now. */
  count(): number {
    return this.sessions.size;
  }

  /** Serves one exec request; resolves when its session is over. */
  async serve(request: ExecRequest): Promise<void> {
    const { log } = this.options;
    const where = { session: request.id, service: request.service, index: request.index };
    if (this.closed) return;
    let socket: ExecSocket;
    try {
      socket = await this.open(request.id);
    } catch (err) {
      log.warn("cannot connect an exec session to the cloud", { ...where, error: err });
      return;
    }
    const max = this.options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (this.sessions.size >= max)
      return finish(socket, {
        type: "error",
        status: 429,
        error: `node ${this.options.node} already runs ${max} exec sessions`,
      });
    const session = { abort: () => socket.close(1000, "the agent is shutting down") };
    this.sessions.add(session);
    try {
      const inbox: unknown[] = [];
      let deliver: (data: unknown) => void = (data) => inbox.push(data);
      let gone = false;
      let onGone: () => void = () => {};
      socket.onmessage = (event) => deliver(event.data);
      socket.onclose = () => {
        gone = true;
        onGone();
      };
      const attached = await this.options.attach(request.service, request.index, request);
      if (!attached.ok)
        return finish(socket, { type: "error", status: attached.status, error: attached.error });
      const proc = attached.process;
      log.info("exec session started", { ...where, command: request.command[0] });
      session.abort = () => {
        proc.kill();
        socket.close(1000, "the agent is shutting down");
      };
      onGone = () => proc.kill();
      if (gone) proc.kill();
      const input = new InputPump(proc);
      deliver = (data) => input.take(data);
      for (const data of inbox) input.take(data);
      const pumps = Promise.all([
        pump(proc.stdout, "stdout", socket),
        proc.stderr ? pump(proc.stderr, "stderr", socket) : Promise.resolve(),
      ]);
      const exit = await proc.exited;
      await Promise.race([pumps, Bun.sleep(OUTPUT_GRACE_MS)]);
      // What the command left behind (a background child in its group) ends with the session.
      onGone = () => {};
      proc.kill();
      const code = exitStatus(exit, constants.signals as Record<string, number>);
      finish(socket, { type: "exit", code: Math.min(code, 255), signal: exit.signal });
      log.info("exec session ended", { ...where, code });
    } catch (err) {
      log.warn("exec session failed", { ...where, error: err });
      finish(socket, {
        type: "error",
        status: 500,
        error: `the exec session failed on node ${this.options.node}`,
      });
    } finally {
      this.sessions.delete(session);
    }
  }

  /** Ends every session (agent shutdown). */
  close(): void {
    this.closed = true;
    for (const session of [...this.sessions]) session.abort();
    this.sessions.clear();
  }

  private open(id: string): Promise<ExecSocket> {
    const base = this.options.cloudUrl();
    if (!base) return Promise.reject(new Error("this node does not know the cloud's URL (meta cloud-url)"));
    const url = `${base.replace(/\/+$/, "").replace(/^http/, "ws")}/api/v1/exec/sessions/${encodeURIComponent(id)}`;
    const { username, password } = this.options;
    const headers = {
      authorization: `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`,
    };
    const connect =
      this.options.connect ??
      ((u, h) => new WebSocket(u, { headers: h } as unknown as string[]) as unknown as ExecSocket);
    const socket = connect(url, headers);
    socket.binaryType = "arraybuffer";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`no connection to ${url} within ${CONNECT_TIMEOUT_MS / 1000} s`));
      }, CONNECT_TIMEOUT_MS);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(socket);
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${url}`));
      };
      socket.onclose = socket.onerror;
    });
  }
}

/** Passes stdin, stdin-end and resize to the command, in order (one write at a time). */
class InputPump {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly proc: AttachedProcess) {}

  take(data: unknown): void {
    const message =
      typeof data === "string" ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined;
    if (message === undefined) return;
    const decoded = decodeMessage(message);
    if (!decoded.ok) return;
    const m = decoded.message;
    const proc = this.proc;
    if (m.kind === "data" && m.stream === "stdin") {
      const bytes = m.data;
      this.chain = this.chain.then(() => proc.write(bytes)).catch(() => {});
    } else if (m.kind === "control" && m.control.type === "stdin-end") {
      this.chain = this.chain.then(() => proc.endInput());
    } else if (m.kind === "control" && m.control.type === "resize") {
      proc.resize(m.control.rows, m.control.cols);
    }
  }
}

/** Sends a stream's chunks as data frames while the socket keeps up. */
async function pump(stream: AsyncIterable<Uint8Array>, name: StreamName, socket: ExecSocket): Promise<void> {
  try {
    for await (const chunk of stream) {
      for (const frame of encodeChunks(name, chunk)) {
        while (socket.readyState === OPEN && socket.bufferedAmount > HIGH_WATER_BYTES) await Bun.sleep(10);
        if (socket.readyState !== OPEN) return;
        socket.send(frame);
      }
    }
  } catch {
    // the stream broke off (the command was killed): its exit says the rest
  }
}

/** Sends the last message and closes the socket. */
function finish(socket: ExecSocket, body: ControlBody): void {
  try {
    if (socket.readyState === OPEN) socket.send(encodeControl(body));
    socket.close(1000, body.type);
  } catch {
    // closed already
  }
}

/** Serves this node's exec sessions for the agent (closed with it). */
export function startExecServer(
  host: { log: Logger; lifecycle: { add(name: string, close: () => void): void } },
  identity: { name: string; username: string; password: string },
  cloudUrl: () => string | undefined,
  workers: { attach: ExecServerOptions["attach"] },
): ExecServer {
  const server = new ExecServer({
    node: identity.name,
    cloudUrl,
    username: identity.username,
    password: identity.password,
    attach: (service, index, command) => workers.attach(service, index, command),
    log: host.log.child({ component: "exec" }),
  });
  host.lifecycle.add("exec-server", () => server.close());
  return server;
}
