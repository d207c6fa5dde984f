import { describe, expect, test } from "bun:test";
import { execPath, parseExecArgs } from "../../src/cli/ctl/exec.ts";
import { UsageError } from "../../src/runtime/errors.ts";

describe("levee ctl exec's arguments", () => {
  test("SERVICE, then the command; the namespace qualifies the service; the size only with -t", () => {
    const args = parseExecArgs(
      ["shell", "sh", "-c", "echo hi"],
      { node: "edge1", namespace: "lab", tty: true },
      { rows: 40, cols: 120 },
    );
    expect(args).toEqual({
      service: "shell.lab",
      node: "edge1",
      worker: 0,
      command: { command: ["sh", "-c", "echo hi"], stdin: false, tty: true, rows: 40, cols: 120 },
    });
    const plain = parseExecArgs(
      ["shell", "cat"],
      { node: "edge1", worker: 2, stdin: true },
      { rows: 40, cols: 120 },
    );
    expect(plain.command).toEqual({ command: ["cat"], stdin: true, tty: false });
    expect(execPath(plain)).toBe("/exec/shell?node=edge1&worker=2");
    expect(execPath(args, true)).toBe("/exec/shell.lab?node=edge1&worker=0&probe=1");
  });

  test("what is missing is a usage error naming it", () => {
    expect(() => parseExecArgs([], { node: "edge1" })).toThrow("missing SERVICE");
    expect(() => parseExecArgs(["shell", "true"], {})).toThrow("missing --node NODE");
    expect(() => parseExecArgs(["shell"], { node: "edge1" })).toThrow(UsageError);
    expect(() => parseExecArgs(["shell", ""], { node: "edge1" })).toThrow("missing COMMAND");
  });
});
