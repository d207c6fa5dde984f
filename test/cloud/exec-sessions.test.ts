import { describe, expect, test } from "bun:test";
import {
  ExecSessions,
  execEvent,
  MAX_EARLY_INPUT_BYTES,
  type SessionSocket,
} from "../../src/cloud/exec-sessions.ts";
import { decodeMessage, encodeControl, encodeData } from "../../src/protocol/exec-session.ts";
import { decodeLogRequest, type ExecRequest } from "../../src/protocol/log-request.ts";

class FakeSocket implements SessionSocket {
  sent: (string | Uint8Array)[] = [];
  closed: { code?: number; reason?: string } | undefined;
  send(message: string | Uint8Array) {
    if (this.closed) throw new Error("closed");
    this.sent.push(message);
  }
  close(code?: number, reason?: string) {
    this.closed ??= { code, reason };
  }
  /** The control messages sent, decoded. */
  controls() {
    return this.sent.flatMap((m) => {
      const d = typeof m === "string" ? decodeMessage(m) : undefined;
      return d?.ok && d.message.kind === "control" ? [d.message.control] : [];
    });
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);
const start = (command: string[] = ["cat"]) =>
  encodeControl({ type: "start", command, stdin: false, tty: false });
const target = { node: "edge1", service: "shell", index: 0, from: "10.0.0.9" };

function setup(options: Partial<ConstructorParameters<typeof ExecSessions>[0]> = {}) {
  const published: ExecRequest[] = [];
  const started: string[][] = [];
  const sessions = new ExecSessions({
    publish: (topic, payload) => {
      expect(topic).toBe("levee/v1/node/edge1/logs");
      const decoded = decodeLogRequest("edge1", payload);
      if (decoded.ok && decoded.request.type === "exec") published.push(decoded.request);
      return true;
    },
    onStart: (_t, command) => started.push(command.command),
    ...options,
  });
  return { sessions, published, started };
}

describe("exec sessions at the cloud", () => {
  test("start, early input, both directions, the exit: then both sockets close", () => {
    const { sessions, published, started } = setup();
    const client = new FakeSocket();
    const fromClient = sessions.openClient(target, client);
    fromClient.message(start(["cat", "-n"]));
    expect(published).toHaveLength(1);
    const request = published[0] as ExecRequest;
    expect(request).toMatchObject({
      service: "shell",
      index: 0,
      command: ["cat", "-n"],
      stdin: false,
      tty: false,
    });
    expect(started).toEqual([["cat", "-n"]]);
    // Input before the node is there waits.
    fromClient.message(encodeData("stdin", bytes("early")));
    const node = new FakeSocket();
    const fromNode = sessions.attachNode(request.id, "edge1", node);
    expect(fromNode).toBeDefined();
    expect(node.sent).toEqual([encodeData("stdin", bytes("early"))]);
    fromClient.message(encodeControl({ type: "stdin-end" }));
    expect(node.sent).toHaveLength(2);
    fromNode?.message(encodeData("stdout", bytes("1 early")));
    fromNode?.message(encodeControl({ type: "exit", code: 3, signal: null }));
    expect(client.sent).toEqual([
      encodeData("stdout", bytes("1 early")),
      encodeControl({ type: "exit", code: 3, signal: null }),
    ]);
    expect(client.closed?.code).toBe(1000);
    expect(node.closed?.code).toBe(1000);
    expect(sessions.count()).toBe(0);
  });

  test("the first message must be the start; a node may not send stdin nor the client stdout", () => {
    const { sessions, published } = setup();
    const client = new FakeSocket();
    sessions.openClient(target, client).message(encodeData("stdin", bytes("x")));
    expect(client.controls()).toEqual([
      { v: 1, type: "error", status: 400, error: "the client's first message must be its start message" },
    ]);
    expect(client.closed?.code).toBe(1008);

    const c2 = new FakeSocket();
    const end2 = sessions.openClient(target, c2);
    end2.message(start());
    const n2 = new FakeSocket();
    sessions.attachNode(published[0]?.id ?? "", "edge1", n2)?.message(encodeData("stdin", bytes("no")));
    expect(c2.controls()[0]).toMatchObject({ type: "error", status: 502 });
    expect(n2.closed).toBeDefined();

    const c3 = new FakeSocket();
    const end3 = sessions.openClient(target, c3);
    end3.message(start());
    sessions.attachNode(published[1]?.id ?? "", "edge1", new FakeSocket());
    end3.message(encodeData("stdout", bytes("no")));
    expect(c3.controls()[0]).toMatchObject({ type: "error", status: 400 });
    expect(sessions.count()).toBe(0);
  });

  test("a session is only for its node; an unknown id is 404", () => {
    const { sessions, published } = setup();
    sessions.openClient(target, new FakeSocket()).message(start());
    const id = published[0]?.id ?? "";
    expect(sessions.canAttach(id, "edge2")).toMatchObject({ ok: false, status: 403 });
    expect(sessions.canAttach("nope-nope-nope-nope", "edge1")).toMatchObject({ ok: false, status: 404 });
    const intruder = new FakeSocket();
    expect(sessions.attachNode(id, "edge2", intruder)).toBeUndefined();
    expect(intruder.closed?.code).toBe(1008);
    expect(sessions.canAttach(id, "edge1")).toEqual({ ok: true });
  });

  test("bounded: sessions at once (429), input before the node (413), the node's connect and idle time", async () => {
    const { sessions } = setup({ maxSessions: 1, connectTimeoutMs: 30, idleTimeoutMs: 30 });
    const first = new FakeSocket();
    const end = sessions.openClient(target, first);
    expect(sessions.refusal()).toMatchObject({ status: 429 });
    const second = new FakeSocket();
    sessions.openClient(target, second);
    expect(second.controls()[0]).toMatchObject({ type: "error", status: 429 });
    end.message(start());
    const chunk = encodeData("stdin", new Uint8Array(60_000));
    for (let sent = 0; sent <= MAX_EARLY_INPUT_BYTES; sent += chunk.length) end.message(chunk);
    expect(first.controls()[0]).toMatchObject({ type: "error", status: 413 });

    const { sessions: slow, published } = setup({ connectTimeoutMs: 30, idleTimeoutMs: 40 });
    const waiting = new FakeSocket();
    slow.openClient(target, waiting).message(start());
    await Bun.sleep(60);
    expect(waiting.controls()[0]).toMatchObject({ type: "error", status: 504 });
    expect(waiting.controls()[0]?.type === "error" && waiting.controls()[0]).toMatchObject({
      error: "node edge1 did not connect the exec session within 0 s",
    });
    const idle = new FakeSocket();
    slow.openClient(target, idle).message(start());
    const node = new FakeSocket();
    slow.attachNode(published[1]?.id ?? "", "edge1", node);
    await Bun.sleep(70);
    expect(idle.controls()[0]).toMatchObject({ type: "error", status: 408 });
    expect(node.closed).toBeDefined();
  });

  test("either side going away ends the other; a disconnected node and shutdown end theirs", () => {
    const { sessions, published } = setup();
    const client = new FakeSocket();
    const end = sessions.openClient(target, client);
    end.message(start());
    const node = new FakeSocket();
    const nodeEnd = sessions.attachNode(published[0]?.id ?? "", "edge1", node);
    end.closed();
    expect(node.closed?.code).toBe(1000);
    nodeEnd?.closed();
    expect(client.controls()).toEqual([]);

    const c2 = new FakeSocket();
    sessions.openClient(target, c2).message(start());
    const n2 = new FakeSocket();
    sessions.attachNode(published[1]?.id ?? "", "edge1", n2)?.closed();
    expect(c2.controls()[0]).toMatchObject({
      status: 502,
      error: "node edge1 closed the session without an exit code",
    });

    const c3 = new FakeSocket();
    sessions.openClient(target, c3).message(start());
    sessions.endNode("edge1", "node edge1 is disconnected");
    expect(c3.controls()[0]).toMatchObject({ status: 503, error: "node edge1 is disconnected" });
    const c4 = new FakeSocket();
    sessions.openClient(target, c4);
    sessions.close();
    expect(c4.controls()[0]).toMatchObject({ status: 503 });
    expect(sessions.count()).toBe(0);
  });

  test("no broker: 503 at once", () => {
    const sessions = new ExecSessions({ publish: () => false });
    const client = new FakeSocket();
    sessions.openClient(target, client).message(start());
    expect(client.controls()[0]).toMatchObject({ status: 503 });
  });

  test("a node without a broker session: 503 at once, naming it", () => {
    const published: string[] = [];
    const sessions = new ExecSessions({
      publish: (topic) => published.push(topic) > 0,
      connected: (node) => node !== target.node,
    });
    const client = new FakeSocket();
    sessions.openClient(target, client).message(start());
    expect(client.controls()[0]).toMatchObject({ status: 503 });
    expect(JSON.stringify(client.controls()[0])).toContain(`node ${target.node} is not connected`);
    expect(published).toEqual([]);
  });

  test("the event says who, which worker and the first word, never the arguments", () => {
    const event = execEvent(target, {
      command: ["/bin/sh", "-c", "PASSWORD=hunter2 login"],
      stdin: false,
      tty: true,
    });
    expect(event).toEqual({
      kind: "Service",
      name: "shell",
      reason: "Exec",
      message: 'the admin (from 10.0.0.9) ran "sh" with a TTY in worker shell/edge1/0',
    });
  });
});
