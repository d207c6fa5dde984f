import { describe, expect, test } from "bun:test";
import type { AttachedExit, AttachedProcess } from "../../../../src/node/workers/drivers/attached-process.ts";
import { ByteQueue } from "../../../../src/node/workers/drivers/docker-exec.ts";
import { ExecServer, type ExecSocket } from "../../../../src/node/workers/exec/exec-server.ts";
import type { AttachResult } from "../../../../src/node/workers/exec/worker-attach.ts";
import { decodeMessage, encodeControl, encodeData } from "../../../../src/protocol/exec-session.ts";
import type { ExecRequest } from "../../../../src/protocol/log-request.ts";
import { createLogger } from "../../../../src/runtime/log.ts";

const log = createLogger({ level: "error", format: "text", write: () => {} });
const bytes = (text: string) => new TextEncoder().encode(text);

/** The cloud's end of the node's session socket: opens at once, records what the node sends. */
class FakeSocket implements ExecSocket {
  readyState = 0;
  bufferedAmount = 0;
  binaryType = "blob";
  sent: (string | Uint8Array)[] = [];
  closed = false;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(
    readonly url: string,
    readonly headers: Record<string, string>,
  ) {
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(data: string | Uint8Array) {
    this.sent.push(data);
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    this.onclose?.({});
  }
  /** The cloud passes a message from the client. */
  deliver(data: string | Uint8Array) {
    this.onmessage?.({ data: typeof data === "string" ? data : data.slice().buffer });
  }
  decoded() {
    return this.sent.map((m) => {
      const d = decodeMessage(m);
      if (!d.ok) throw new Error(d.reason);
      return d.message.kind === "data"
        ? { [d.message.stream]: new TextDecoder().decode(d.message.data) }
        : d.message.control;
    });
  }
}

/** A command whose streams and exit the test drives. */
function fakeProcess() {
  const stdout = new ByteQueue();
  const stderr = new ByteQueue();
  const input: string[] = [];
  let finish!: (exit: AttachedExit) => void;
  const state = { ended: false, killed: false, resized: "" };
  const proc: AttachedProcess = {
    stdout,
    stderr,
    async write(data) {
      input.push(new TextDecoder().decode(data));
    },
    endInput() {
      state.ended = true;
    },
    resize(rows, cols) {
      state.resized = `${rows}x${cols}`;
    },
    exited: new Promise((resolve) => {
      finish = resolve;
    }),
    kill() {
      state.killed = true;
      stdout.end();
      stderr.end();
      finish({ code: null, signal: "SIGKILL" });
    },
  };
  return { proc, stdout, stderr, input, state, exit: (exit: AttachedExit) => finish(exit) };
}

const request: ExecRequest = {
  v: 1,
  type: "exec",
  node: "edge1",
  id: "abcdefghijklmnopqrstuv",
  ts: "2026-01-01T00:00:00.000Z",
  service: "shell",
  index: 0,
  command: ["cat"],
  stdin: true,
  tty: false,
};

function server(attach: () => Promise<AttachResult>, maxSessions?: number) {
  const sockets: FakeSocket[] = [];
  const s = new ExecServer({
    node: "edge1",
    cloudUrl: () => "http://10.0.0.1:7400/",
    username: "edge1",
    password: "pw",
    attach,
    log,
    maxSessions,
    connect: (url, headers) => {
      const socket = new FakeSocket(url, headers);
      sockets.push(socket);
      return socket;
    },
  });
  return { s, sockets };
}

describe("the node's exec server", () => {
  test("connects back with its credentials, passes input, sends output and the exit code last", async () => {
    const p = fakeProcess();
    const { s, sockets } = server(async () => ({ ok: true, process: p.proc }));
    const done = s.serve(request);
    await Bun.sleep(5);
    const socket = sockets[0] as FakeSocket;
    expect(socket.url).toBe("ws://10.0.0.1:7400/api/v1/exec/sessions/abcdefghijklmnopqrstuv");
    expect(socket.headers.authorization).toBe(`Basic ${Buffer.from("edge1:pw").toString("base64")}`);
    socket.deliver(encodeData("stdin", bytes("hello")));
    socket.deliver(encodeControl({ type: "resize", rows: 10, cols: 20 }));
    socket.deliver(encodeControl({ type: "stdin-end" }));
    socket.deliver("garbage");
    p.stdout.push(bytes("hello"));
    p.stderr.push(bytes("warn"));
    await Bun.sleep(5);
    p.stdout.end();
    p.stderr.end();
    p.exit({ code: 7, signal: null });
    await done;
    expect(p.input).toEqual(["hello"]);
    // Killed after its exit too: what it left in its process group ends with the session.
    expect(p.state).toEqual({ ended: true, killed: true, resized: "10x20" });
    expect(socket.decoded()).toEqual([
      { stdout: "hello" },
      { stderr: "warn" },
      { v: 1, type: "exit", code: 7, signal: null },
    ]);
    expect(socket.closed).toBe(true);
    expect(s.count()).toBe(0);
  });

  test("a signal is 128 + its number; a refusal is an error message; the socket closing kills the command", async () => {
    const p = fakeProcess();
    const { s, sockets } = server(async () => ({ ok: true, process: p.proc }));
    const done = s.serve(request);
    await Bun.sleep(5);
    (sockets[0] as FakeSocket).close();
    await done;
    expect(p.state.killed).toBe(true);

    const refused = server(async () => ({ ok: false, status: 409, error: "worker shell/0 is not running" }));
    await refused.s.serve(request);
    expect(refused.sockets[0]?.decoded()).toEqual([
      { v: 1, type: "error", status: 409, error: "worker shell/0 is not running" },
    ]);

    const q = fakeProcess();
    const signalled = server(async () => ({ ok: true, process: q.proc }));
    const running = signalled.s.serve(request);
    await Bun.sleep(5);
    q.stdout.end();
    q.stderr.end();
    q.exit({ code: null, signal: "SIGTERM" });
    await running;
    expect(signalled.sockets[0]?.decoded()).toEqual([{ v: 1, type: "exit", code: 143, signal: "SIGTERM" }]);
  });

  test("more sessions than allowed: 429 on the socket; shutdown ends the running ones", async () => {
    const p = fakeProcess();
    const { s, sockets } = server(async () => ({ ok: true, process: p.proc }), 1);
    const first = s.serve(request);
    await Bun.sleep(5);
    await s.serve({ ...request, id: "bcdefghijklmnopqrstuvw" });
    expect(sockets[1]?.decoded()[0]).toMatchObject({ type: "error", status: 429 });
    s.close();
    await first;
    expect(p.state.killed).toBe(true);
    expect(sockets[0]?.closed).toBe(true);
  });
});
