// The cloud's registry of exec sessions (`levee ctl exec`, docs/PROTOCOL.md "Exec"). A client's
// WebSocket arrives first and sends its start message (the command); the cloud then asks the node
// over MQTT, with a random session id, and the node connects its own WebSocket back naming that
// id (the cloud cannot call a node). From then on the cloud passes messages between the two
// sockets, checking each against the protocol: stdin and the client's control messages to the
// node, stdout, stderr, the exit code and errors to the client. Input the client sends before the
// node is there waits here, bounded. Bounded too: the sessions at once, the time a node has to
// connect, and a session's idle time (no message either way). Either side going away ends both.
// Sockets are an interface (send, close), so all of this is tested without a network.

import {
  type ControlBody,
  commandName,
  decodeMessage,
  type ExecCommand,
  encodeControl,
  MAX_CONTROL_BYTES,
  MAX_SOCKET_MESSAGE_BYTES,
  type SessionMessage,
} from "../protocol/exec-session.ts";
import { type ExecRequest, encodeLogRequest, newStreamId } from "../protocol/log-request.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";
import { logsTopic } from "../protocol/topics.ts";
import { type NodeConnected, notConnectedMessage } from "./node-session.ts";

export const DEFAULT_MAX_SESSIONS = 32;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
/** Client input held while the node connects. */
export const MAX_EARLY_INPUT_BYTES = 1024 * 1024;

/** One end of a session: a WebSocket as the cloud sees it. */
export interface SessionSocket {
  send(message: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** The worker a client asks for. */
export interface ExecTarget {
  node: string;
  service: string;
  index: number;
  /** Who asks: the client's address (the admin token is one identity). */
  from?: string;
}

export interface ExecSessionsOptions {
  /** Publishes on an MQTT topic (QoS 1); false when the cloud is not connected to the broker. */
  publish: (topic: string, payload: Buffer) => boolean;
  /** A session's command was accepted and sent to the node (the route records the event). */
  onStart?: (target: ExecTarget, command: ExecCommand) => void;
  /** Whether the node has a broker session now, when the cloud can know (node-session.ts). */
  connected?: NodeConnected | undefined;
  maxSessions?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** What the client's socket handlers call. */
export interface ClientEnd {
  message(message: string | Uint8Array): void;
  closed(): void;
}

/** What the node's socket handlers call. */
export interface NodeEnd {
  message(message: string | Uint8Array): void;
  closed(): void;
}

type Phase = "starting" | "connecting" | "flowing" | "ended";

interface Session {
  id: string;
  target: ExecTarget;
  client: SessionSocket;
  node?: SessionSocket;
  phase: Phase;
  early: (string | Uint8Array)[];
  earlyBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The cloud listener's WebSocket limits: one data frame per message, a slow peer cut off. */
export const EXEC_SOCKET_LIMITS = {
  maxPayloadLength: Math.max(MAX_CONTROL_BYTES, MAX_SOCKET_MESSAGE_BYTES),
  backpressureLimit: 8 * 1024 * 1024,
};

/** The event a session's start records: who, which worker, the command's first word only. */
export function execEvent(target: ExecTarget, command: ExecCommand) {
  const { node, service, index } = target;
  const tty = command.tty ? " with a TTY" : "";
  return {
    kind: "Service",
    name: service,
    reason: "Exec",
    message: `the admin (from ${target.from ?? "unknown"}) ran "${commandName(command.command)}"${tty} in worker ${service}/${node}/${index}`,
  };
}

const NORMAL = 1000;
const POLICY = 1008;

export class ExecSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: ExecSessionsOptions) {}

  /** Sessions open now (waiting for their start or node, or flowing). */
  count(): number {
    return this.sessions.size;
  }

  /** Why a new client session is refused now (undefined: it is not). */
  refusal(): { status: number; error: string } | undefined {
    const max = this.options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (this.sessions.size >= max)
      return { status: 429, error: `the cloud already serves ${max} exec sessions; try again later` };
    return undefined;
  }

  /** A client's socket opened: it must send its start message within the connect timeout. */
  openClient(target: ExecTarget, client: SessionSocket): ClientEnd {
    const id = newStreamId();
    const session: Session = {
      id,
      target,
      client,
      phase: "starting",
      early: [],
      earlyBytes: 0,
      timer: undefined,
    };
    const refused = this.refusal();
    this.sessions.set(id, session);
    if (refused) this.fail(session, refused.status, refused.error);
    else this.arm(session, this.connectTimeout(), "no start message from the client");
    return {
      message: (message) => this.fromClient(session, message),
      closed: () => this.end(session, "the client went away"),
    };
  }

  /** Whether node `node` may connect the session `id` now (else the HTTP status and message). */
  canAttach(id: string, node: string): { ok: true } | { ok: false; status: number; error: string } {
    const session = this.sessions.get(id);
    if (session?.phase !== "connecting")
      return {
        ok: false,
        status: 404,
        error: `no exec session ${id} is waiting (it timed out, or its client went away)`,
      };
    if (session.target.node !== node)
      return { ok: false, status: 403, error: `exec session ${id} is not for node ${node}` };
    return { ok: true };
  }

  /** The node's socket for session `id` opened; undefined (and the socket closed) when refused. */
  attachNode(id: string, node: string, socket: SessionSocket): NodeEnd | undefined {
    const check = this.canAttach(id, node);
    const session = this.sessions.get(id);
    if (!check.ok || !session) {
      socket.close(POLICY, check.ok ? "no such session" : check.error.slice(0, 120));
      return undefined;
    }
    session.node = socket;
    session.phase = "flowing";
    for (const message of session.early) socket.send(message);
    session.early = [];
    session.earlyBytes = 0;
    this.touch(session);
    return {
      message: (message) => this.fromNode(session, message),
      closed: () => {
        if (session.phase !== "ended")
          this.fail(session, 502, `node ${node} closed the session without an exit code`);
      },
    };
  }

  /** The node went away: its sessions end with an error. */
  endNode(node: string, reason: string): void {
    for (const session of [...this.sessions.values()])
      if (session.target.node === node) this.fail(session, 503, reason);
  }

  /** Ends every session (cloud shutdown). */
  close(): void {
    for (const session of [...this.sessions.values()]) this.fail(session, 503, "the cloud is shutting down");
  }

  private fromClient(session: Session, message: string | Uint8Array): void {
    if (session.phase === "ended") return;
    const decoded = decodeMessage(message);
    if (!decoded.ok) {
      this.fail(session, 400, `invalid message from the client: ${decoded.reason}`);
      return;
    }
    const m = decoded.message;
    if (session.phase === "starting") {
      if (m.kind !== "control" || m.control.type !== "start") {
        this.fail(session, 400, "the client's first message must be its start message");
        return;
      }
      const { type: _type, v: _v, ...command } = m.control;
      this.start(session, command);
      return;
    }
    const allowed =
      m.kind === "data"
        ? m.stream === "stdin"
        : m.control.type === "stdin-end" || m.control.type === "resize";
    if (!allowed) {
      this.fail(session, 400, `the client may not send ${describe(m)} during a session`);
      return;
    }
    if (session.phase === "connecting") {
      const size = message.length;
      if (session.earlyBytes + size > MAX_EARLY_INPUT_BYTES) {
        this.fail(
          session,
          413,
          `more than ${MAX_EARLY_INPUT_BYTES} bytes of input before the node connected`,
        );
        return;
      }
      session.early.push(message);
      session.earlyBytes += size;
      return;
    }
    this.touch(session);
    session.node?.send(message);
  }

  private fromNode(session: Session, message: string | Uint8Array): void {
    if (session.phase !== "flowing") return;
    const decoded = decodeMessage(message);
    if (!decoded.ok) {
      this.fail(session, 502, `invalid message from node ${session.target.node}: ${decoded.reason}`);
      return;
    }
    const m = decoded.message;
    if (m.kind === "data") {
      if (m.stream === "stdin") {
        this.fail(session, 502, `node ${session.target.node} sent stdin`);
        return;
      }
      this.touch(session);
      session.client.send(message);
      return;
    }
    if (m.control.type !== "exit" && m.control.type !== "error") {
      this.fail(session, 502, `node ${session.target.node} sent ${describe(m)}`);
      return;
    }
    session.client.send(message);
    this.finish(session, NORMAL, m.control.type);
  }

  private start(session: Session, command: ExecCommand): void {
    const { target } = session;
    const request: ExecRequest = {
      v: PROTOCOL_VERSION,
      type: "exec",
      node: target.node,
      id: session.id,
      ts: new Date().toISOString(),
      service: target.service,
      index: target.index,
      ...command,
    };
    if (this.options.connected?.(target.node) === false) {
      this.fail(session, 503, notConnectedMessage(target.node));
      return;
    }
    let sent = false;
    try {
      sent = this.options.publish(logsTopic(target.node), encodeLogRequest(request));
    } catch {
      sent = false;
    }
    if (!sent) {
      this.fail(session, 503, "the cloud is not connected to the MQTT broker; try again");
      return;
    }
    session.phase = "connecting";
    this.options.onStart?.(target, command);
    const seconds = Math.round(this.connectTimeout() / 1000);
    this.arm(
      session,
      this.connectTimeout(),
      `node ${target.node} did not connect the exec session within ${seconds} s`,
      504,
    );
  }

  /** Traffic: the idle timer starts again. */
  private touch(session: Session): void {
    const ms = this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.arm(session, ms, `the exec session was idle for ${Math.round(ms / 1000)} s`, 408);
  }

  private arm(session: Session, ms: number, reason: string, status = 408): void {
    if (session.timer) clearTimeout(session.timer);
    session.timer = setTimeout(() => this.fail(session, status, reason), ms);
  }

  private connectTimeout(): number {
    return this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  /** Tells the client why the session ends, then ends it. */
  private fail(session: Session, status: number, error: string): void {
    if (session.phase === "ended") return;
    const body: ControlBody = { type: "error", status, error: error.slice(0, 4096) };
    try {
      session.client.send(encodeControl(body));
    } catch {
      // the client is gone already
    }
    this.finish(session, status >= 500 ? 1011 : POLICY, error);
  }

  /** The client went away: the node's side ends too (it kills the command). */
  private end(session: Session, reason: string): void {
    this.finish(session, NORMAL, reason);
  }

  private finish(session: Session, code: number, reason: string): void {
    if (session.phase === "ended") return;
    session.phase = "ended";
    if (session.timer) clearTimeout(session.timer);
    this.sessions.delete(session.id);
    // A close reason is at most 123 bytes.
    const short = Buffer.from(reason, "utf8").subarray(0, 120).toString("utf8");
    for (const socket of [session.client, session.node]) {
      try {
        socket?.close(code, short);
      } catch {
        // closed already
      }
    }
  }
}

function describe(m: SessionMessage): string {
  return m.kind === "data" ? `${m.stream} data` : `a ${m.control.type} message`;
}
