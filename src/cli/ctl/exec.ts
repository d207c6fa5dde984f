// `levee ctl exec SERVICE --node N [--worker I] [-i] [-t] -- CMD [ARGS...]`: runs a command in a
// worker's context (an exec worker: its directory, environment and user; a container: docker
// exec) through the cloud, which reaches nodes behind NAT too (docs/PROTOCOL.md, "Exec"). The
// request is first checked with a plain GET (?probe=1), so that a refusal (token, node, service)
// is the API's clear message; then a WebSocket carries the session: the start message, stdin
// (with -i) and the terminal's size (with -t) one way, stdout, stderr and the exit code the other.
// Exits with the command's exit code; a refusal or a broken session is one line and exit 1.
import { qualifiedName } from "../../manifest/namespace.ts";
import {
  decodeMessage,
  type ExecCommand,
  encodeChunks,
  encodeControl,
  MAX_COMMAND_WORDS,
} from "../../protocol/exec-session.ts";
import { UsageError } from "../../runtime/errors.ts";
import { CtlFailure, resolveTarget } from "./client.ts";
import type { CtlContext } from "./context.ts";

const USAGE = "levee ctl exec SERVICE --node NODE [--worker I] [-i] [-t] -- COMMAND [ARGS...]";
const CONNECT_TIMEOUT_MS = 30_000;

export interface ExecArgs {
  service: string;
  node: string;
  worker: number;
  command: ExecCommand;
}

/** The arguments and options of `ctl exec`, checked (pure; a UsageError names what is wrong). */
export function parseExecArgs(
  args: readonly string[],
  options: {
    node?: string | undefined;
    worker?: number | undefined;
    stdin?: boolean;
    tty?: boolean;
    namespace?: string | undefined;
  },
  terminal: { rows?: number | undefined; cols?: number | undefined } = {},
): ExecArgs {
  const [service, ...command] = args;
  if (!service) throw new UsageError(`missing SERVICE: ${USAGE}`);
  if (!options.node)
    throw new UsageError(
      "missing --node NODE: the node the worker runs on (levee ctl get workers SERVICE shows it)",
    );
  if (command.length === 0 || command[0] === "") throw new UsageError(`missing COMMAND after --: ${USAGE}`);
  if (command.length > MAX_COMMAND_WORDS)
    throw new UsageError(`a command of at most ${MAX_COMMAND_WORDS} words`);
  const tty = options.tty === true;
  const size =
    tty && terminal.rows && terminal.cols
      ? { rows: Math.min(terminal.rows, 10_000), cols: Math.min(terminal.cols, 10_000) }
      : {};
  return {
    service: qualifiedName(options.namespace, service),
    node: options.node,
    worker: options.worker ?? 0,
    command: { command, stdin: options.stdin === true, tty, ...size },
  };
}

/** The API path of the session (and, with probe, of its check). */
export function execPath(args: Pick<ExecArgs, "service" | "node" | "worker">, probe = false): string {
  const query = new URLSearchParams({ node: args.node, worker: String(args.worker) });
  if (probe) query.set("probe", "1");
  return `/exec/${encodeURIComponent(args.service)}?${query}`;
}

export async function exec(ctx: CtlContext): Promise<number> {
  const options = ctx.options as typeof ctx.options & {
    node?: string;
    worker?: number;
    stdin?: boolean;
    tty?: boolean;
  };
  const parsed = parseExecArgs(ctx.args, options, {
    rows: process.stdout.rows,
    cols: process.stdout.columns,
  });
  const client = ctx.client();
  await client.request("GET", execPath(parsed, true));
  const target = resolveTarget(ctx.options, ctx.env);
  const url = `${client.server.replace(/^http/, "ws")}/api/v1${execPath(parsed)}`;
  return runSession(url, target.token, parsed);
}

/** Opens the session's WebSocket and runs it to its end; the command's exit code. */
function runSession(url: string, token: string | undefined, args: ExecArgs): Promise<number> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const socket = new WebSocket(url, { headers } as unknown as string[]);
  socket.binaryType = "arraybuffer";
  const raw = args.command.tty && args.command.stdin && process.stdin.isTTY;
  return new Promise<number>((resolve, reject) => {
    let outcome: { code: number } | { error: string } | undefined;
    let opened = false;
    const timer = setTimeout(() => {
      if (!opened) socket.close();
    }, CONNECT_TIMEOUT_MS);
    const onResize = () => {
      if (process.stdout.rows && process.stdout.columns)
        send(encodeControl({ type: "resize", rows: process.stdout.rows, cols: process.stdout.columns }));
    };
    const send = (data: string | Uint8Array) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
    };
    const cleanup = () => {
      clearTimeout(timer);
      process.off("SIGWINCH", onResize);
      if (raw) process.stdin.setRawMode(false);
      if (args.command.stdin) process.stdin.pause();
    };
    socket.onopen = () => {
      opened = true;
      clearTimeout(timer);
      send(encodeControl({ type: "start", ...args.command }));
      if (!args.command.stdin) return send(encodeControl({ type: "stdin-end" }));
      if (raw) process.stdin.setRawMode(true);
      if (args.command.tty) process.on("SIGWINCH", onResize);
      void forwardStdin(send);
    };
    socket.onmessage = (event) => {
      const data = typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer);
      const decoded = decodeMessage(data);
      if (!decoded.ok) {
        outcome = { error: `the cloud sent an invalid message: ${decoded.reason}` };
        return socket.close();
      }
      const m = decoded.message;
      if (m.kind === "data") (m.stream === "stderr" ? process.stderr : process.stdout).write(m.data);
      else if (m.control.type === "exit") outcome = { code: m.control.code ?? 255 };
      else if (m.control.type === "error") outcome = { error: `${m.control.error} (${m.control.status})` };
    };
    socket.onclose = (event) => {
      cleanup();
      if (outcome && "code" in outcome) return resolve(outcome.code);
      const reason = (event as CloseEvent).reason;
      const error =
        outcome?.error ??
        (opened
          ? `the session ended without an exit code${reason ? `: ${reason}` : ""}`
          : `cannot open the exec session at ${url}`);
      reject(new CtlFailure(error));
    };
  });
}

/** Standard input as stdin frames, then stdin-end. */
async function forwardStdin(send: (data: string | Uint8Array) => void): Promise<void> {
  try {
    for await (const chunk of process.stdin) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
      for (const frame of encodeChunks("stdin", bytes)) send(frame);
    }
  } catch {
    // stdin broke: end it
  }
  send(encodeControl({ type: "stdin-end" }));
}
