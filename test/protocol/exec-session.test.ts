import { describe, expect, test } from "bun:test";
import {
  commandName,
  decodeMessage,
  encodeChunks,
  encodeControl,
  encodeData,
  MAX_CONTROL_BYTES,
  MAX_DATA_BYTES,
} from "../../src/protocol/exec-session.ts";
import { decodeLogRequest, type ExecRequest, encodeLogRequest } from "../../src/protocol/log-request.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("exec session messages", () => {
  test("a data frame is its stream's byte and the bytes, read back as they were", () => {
    const frame = encodeData("stderr", bytes("oops"));
    expect([...frame.subarray(0, 1)]).toEqual([2]);
    const decoded = decodeMessage(frame);
    expect(decoded.ok && decoded.message).toEqual({ kind: "data", stream: "stderr", data: bytes("oops") });
    const fromBuffer = decodeMessage(encodeData("stdin", bytes("x")).slice().buffer);
    expect(fromBuffer.ok && fromBuffer.message.kind === "data" && fromBuffer.message.stream).toBe("stdin");
  });

  test("big chunks are split into frames of at most MAX_DATA_BYTES; an empty one makes none", () => {
    const frames = encodeChunks("stdout", new Uint8Array(MAX_DATA_BYTES * 2 + 5));
    expect(frames.map((f) => f.length)).toEqual([MAX_DATA_BYTES + 1, MAX_DATA_BYTES + 1, 6]);
    expect(encodeChunks("stdout", new Uint8Array(0))).toEqual([]);
    expect(() => encodeData("stdout", new Uint8Array(MAX_DATA_BYTES + 1))).toThrow(RangeError);
  });

  test("bad frames are refused with a reason, never thrown", () => {
    expect(decodeMessage(new Uint8Array(0))).toEqual({ ok: false, reason: "an empty data frame" });
    expect(decodeMessage(new Uint8Array([7, 1]))).toEqual({ ok: false, reason: "unknown stream 7" });
    const huge = decodeMessage(new Uint8Array(MAX_DATA_BYTES + 2));
    expect(huge.ok).toBe(false);
  });

  test("control messages carry the version and are checked against their schema", () => {
    const body = { command: ["sh", "-c", "echo hi"], stdin: false, tty: true, rows: 24, cols: 80 };
    const start = encodeControl({ type: "start", ...body });
    expect(JSON.parse(start)).toEqual({ v: 1, type: "start", ...body });
    const decoded = decodeMessage(start);
    expect(decoded.ok && decoded.message.kind === "control" && decoded.message.control.type).toBe("start");
    const exit = decodeMessage(encodeControl({ type: "exit", code: 3, signal: null }));
    expect(exit.ok).toBe(true);
    expect(decodeMessage('{"v":2,"type":"stdin-end"}')).toEqual({ ok: false, reason: "unknown version v=2" });
    const empty = decodeMessage(encodeControl({ type: "start", command: [], stdin: false, tty: false }));
    expect(empty.ok === false && empty.reason).toContain("command");
    const blank = decodeMessage(
      JSON.stringify({ v: 1, type: "start", command: [""], stdin: false, tty: false }),
    );
    expect(blank.ok === false && blank.reason).toContain("first word is empty");
    expect(decodeMessage('{"v":1,"type":"resize","rows":0,"cols":80}').ok).toBe(false);
    expect(decodeMessage("not json").ok).toBe(false);
    expect(decodeMessage(" ".repeat(MAX_CONTROL_BYTES + 1))).toEqual({
      ok: false,
      reason: `a control message of ${MAX_CONTROL_BYTES + 1} characters (at most ${MAX_CONTROL_BYTES})`,
    });
  });

  test("an event names the command's first word only, without its directory", () => {
    expect(commandName(["/usr/bin/psql", "postgres://user:secret@db"])).toBe("psql");
    expect(commandName(["sh", "-c", "TOKEN=x run"])).toBe("sh");
    expect(commandName(["x".repeat(100)])).toBe(`${"x".repeat(64)}…`);
  });

  test("the exec request travels on the node's logs topic and is checked like the others", () => {
    const request: ExecRequest = {
      v: 1,
      type: "exec",
      node: "edge1",
      id: "abcdefghijklmnopqrstuv",
      ts: new Date().toISOString(),
      service: "shell",
      index: 0,
      command: ["cat"],
      stdin: false,
      tty: false,
    };
    expect(decodeLogRequest("edge1", encodeLogRequest(request))).toEqual({ ok: true, request });
    const other = decodeLogRequest("edge2", encodeLogRequest(request));
    expect(other.ok).toBe(false);
    const pathy = decodeLogRequest("edge1", encodeLogRequest({ ...request, service: "../etc" }));
    expect(pathy.ok).toBe(false);
  });
});
