// `levee ctl exec` in a container worker: `docker exec` through the Engine API, with its streams
// attached. POST /containers/{id}/exec makes the exec instance; POST /exec/{id}/start with
// `Upgrade: tcp` hijacks the HTTP connection, which then carries stdin one way and the output the
// other (multiplexed frames without a TTY, docker-stream.ts; raw bytes with one). fetch() cannot
// hand over a hijacked connection, so the start request is written by hand on a unix socket of
// its own. Closing our side for writing is EOF on the command's stdin (once the command runs).
// Without -i the exec gets no stdin at all, as with `docker exec` without -i. GET /exec/{id}/json gives
// the exit code once the output ended; POST /exec/{id}/resize the terminal's size.
import { createConnection } from "node:net";
import type { ExecCommand } from "../../../protocol/exec-session.ts";
import type { AttachedExit, AttachedProcess } from "./attached-process.ts";
import { DOCKER_API_VERSION } from "./docker-client.ts";
import { Demultiplexer } from "./docker-stream.ts";

/** The largest HTTP head Docker's start answer may have before the stream. */
const MAX_HEAD_BYTES = 16 * 1024;

/** A byte queue read as an async iterable (one reader), closed by end(). */
export class ByteQueue implements AsyncIterable<Uint8Array> {
  private readonly items: Uint8Array[] = [];
  private done = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  push(data: Uint8Array): void {
    if (this.done || data.length === 0) return;
    this.items.push(data);
    this.notify();
  }

  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.done) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Splits Docker's answer to the start request: its status and the stream bytes after the head. */
export function parseStartHead(
  buffer: Uint8Array,
): { status: number; rest: Uint8Array; head: string } | "more" | { error: string } {
  const text = Buffer.from(buffer).toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0)
    return buffer.length > MAX_HEAD_BYTES ? { error: "Docker's answer has no end of head" } : "more";
  const head = text.slice(0, end);
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!match) return { error: `not an HTTP answer: ${head.slice(0, 80)}` };
  return { status: Number(match[1]), rest: buffer.subarray(end + 4), head };
}

async function dockerJson(socket: string, path: string, method = "GET", body?: unknown): Promise<unknown> {
  const response = await fetch(`http://docker/${DOCKER_API_VERSION}${path}`, {
    method,
    unix: socket,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  } as RequestInit);
  const text = await response.text();
  if (response.status >= 400) {
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON
    }
    throw Object.assign(new Error(`Docker API ${method} ${path.split("?")[0]}: ${message}`), {
      status: response.status,
    });
  }
  return text ? JSON.parse(text) : undefined;
}

/** Runs `command` in the running container `containerId` (`docker exec -i [-t]`). */
export async function dockerAttach(
  socketPath: string,
  containerId: string,
  command: ExecCommand,
): Promise<AttachedProcess> {
  const tty = command.tty;
  const created = (await dockerJson(
    socketPath,
    `/containers/${encodeURIComponent(containerId)}/exec`,
    "POST",
    {
      Cmd: command.command,
      AttachStdin: command.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      ...(tty ? { Env: ["TERM=xterm"] } : {}),
    },
  )) as { Id?: string };
  const execId = created?.Id;
  if (!execId) throw new Error("Docker made no exec instance");
  const stdout = new ByteQueue();
  const stderr = new ByteQueue();
  const demux = tty ? undefined : new Demultiplexer();
  let head: Uint8Array | undefined = new Uint8Array(0);
  let inputEnded = false;
  let opened!: (error?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    opened = (error) => (error ? reject(error) : resolve());
  });
  const deliver = (bytes: Uint8Array) => {
    if (!demux) return stdout.push(bytes);
    for (const frame of demux.push(bytes)) (frame.stream === "stderr" ? stderr : stdout).push(frame.data);
  };
  // node:net, not Bun.connect: end() must close only our writing side (stdin's EOF) and leave the
  // output flowing (allowHalfOpen).
  const socket = createConnection({ path: socketPath, allowHalfOpen: true });
  const ended = new Promise<void>((resolve) => {
    socket.once("close", () => {
      opened(new Error("Docker closed the connection"));
      stdout.end();
      stderr.end();
      resolve();
    });
  });
  // Docker's end of output is the session's end: our side closes too (half-open only for stdin).
  socket.on("end", () => socket.end());
  socket.on("error", (err) => {
    opened(err);
    stdout.end(err);
    stderr.end();
  });
  socket.on("data", (chunk: Buffer) => {
    if (head === undefined) {
      try {
        deliver(chunk);
      } catch (err) {
        stdout.end(err);
        socket.destroy();
      }
      return;
    }
    const merged: Uint8Array = Buffer.concat([head, chunk]);
    const parsed = parseStartHead(merged);
    if (parsed === "more") {
      head = merged;
      return;
    }
    head = undefined;
    if ("error" in parsed) return opened(new Error(parsed.error));
    if (parsed.status !== 101 && parsed.status !== 200)
      return opened(new Error(`Docker refused to start the exec: ${parsed.head.split("\r\n")[0]}`));
    opened();
    if (parsed.rest.length > 0) deliver(parsed.rest);
  });
  const body = JSON.stringify({ Detach: false, Tty: tty });
  socket.write(
    `POST /${DOCKER_API_VERSION}/exec/${execId}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  await ready;
  const resize = (rows: number, cols: number) => {
    if (!tty) return;
    void dockerJson(socketPath, `/exec/${execId}/resize?h=${rows}&w=${cols}`, "POST").catch(() => {});
  };
  if (tty && command.rows && command.cols) resize(command.rows, command.cols);
  const exited = ended.then(() => exitOf(socketPath, execId));
  let writes: Promise<void> = Promise.resolve();
  return {
    stdout,
    stderr: tty ? undefined : stderr,
    write(data) {
      if (inputEnded || socket.destroyed) return Promise.resolve();
      writes = new Promise<void>((resolve) => {
        if (socket.write(data)) resolve();
        else {
          socket.once("drain", resolve);
          socket.once("close", resolve);
        }
      });
      return writes;
    },
    endInput() {
      // With a TTY, Docker ends the whole stream at stdin's end (output lost): a terminal's end of
      // input is ^D, a byte like any other.
      if (inputEnded || tty) return;
      inputEnded = true;
      // Docker takes a half-close before the command started for a cancelled start (exit 126,
      // no output): stdin ends once the exec runs.
      void writes.then(() => running(socketPath, execId)).then(() => socket.end());
    },
    resize,
    exited,
    kill() {
      void killExec(socketPath, execId);
      socket.destroy();
    },
  };
}

/** Resolves once Docker says the exec started (it runs, or it ran already); gives up after 5 s. */
async function running(socket: string, execId: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    try {
      const info = (await dockerJson(socket, `/exec/${execId}/json`)) as { Running?: boolean; Pid?: number };
      if (info.Running || (info.Pid ?? 0) > 0) return;
    } catch {
      return;
    }
    await Bun.sleep(20);
  }
}

/** The exec's exit code once Docker saw it end (it may lag the stream's end briefly). */
async function exitOf(socket: string, execId: string): Promise<AttachedExit> {
  for (let i = 0; i < 50; i++) {
    try {
      const info = (await dockerJson(socket, `/exec/${execId}/json`)) as {
        Running?: boolean;
        ExitCode?: number | null;
      };
      if (!info.Running && typeof info.ExitCode === "number") return { code: info.ExitCode, signal: null };
    } catch {
      return { code: null, signal: null };
    }
    await Bun.sleep(20);
  }
  return { code: null, signal: null };
}

/** Ends an exec whose session went away (Docker has no call for it: its pid, from the host). */
async function killExec(socket: string, execId: string): Promise<void> {
  try {
    const info = (await dockerJson(socket, `/exec/${execId}/json`)) as { Running?: boolean; Pid?: number };
    if (info.Running && info.Pid && info.Pid > 0) process.kill(info.Pid, "SIGKILL");
  } catch {
    // gone already, or not ours to kill
  }
}
