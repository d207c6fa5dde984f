// `levee ctl logs` argument handling: -f means --follow for logs and --filename for the others,
// the subcommand is found past flags and their values, and the request path.
import { describe, expect, test } from "bun:test";
import { ctlKeysFor, logsPath, subcommandOf } from "../../src/cli/ctl/logs.ts";
import { optionsFor } from "../../src/config/schema.ts";
import { runLevee } from "../harness/cluster.ts";

describe("ctl logs arguments", () => {
  const keys = optionsFor("ctl");

  test("-f is --follow for logs and --filename for every other subcommand", () => {
    const forLogs = ctlKeysFor(["logs", "echo", "-f"], keys);
    expect(forLogs).toContain("follow");
    expect(forLogs).not.toContain("filename");
    const forApply = ctlKeysFor(["apply", "-f", "x.yaml"], keys);
    expect(forApply).toContain("filename");
    expect(forApply).not.toContain("follow");
  });

  test("the subcommand is the first positional, past flags and their values", () => {
    const takesValue = (flag: string) => ["--server", "--data-dir"].includes(flag);
    expect(subcommandOf(["--server", "http://x", "logs", "svc"], takesValue)).toBe("logs");
    expect(subcommandOf(["--data-dir=/d", "-o", "json", "get", "nodes"], takesValue)).toBe("get");
    expect(subcommandOf(["--wait", "apply"], takesValue)).toBe("apply");
    expect(subcommandOf(["--", "logs"], takesValue)).toBe("logs");
    expect(subcommandOf(["--server", "http://x"], takesValue)).toBeUndefined();
  });

  test("the request path carries node, worker, tail and follow", () => {
    expect(logsPath("echo", { node: "edge1" })).toBe("/logs/echo?node=edge1&worker=0");
    expect(logsPath("a b", { node: "n", worker: 2, tail: 10, follow: true })).toBe(
      "/logs/a%20b?node=n&worker=2&tail=10&follow=1",
    );
  });

  test("bad flags are usage errors naming the flag (exit 2)", async () => {
    const r = await runLevee([
      "ctl",
      "logs",
      "echo",
      "--node",
      "edge1",
      "--tail",
      "-3",
      "--server",
      "http://127.0.0.1:9",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--tail");
    const bad = await runLevee(["ctl", "logs", "echo", "--node", "Edge_1", "--server", "http://127.0.0.1:9"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--node");
    const two = await runLevee(["ctl", "logs", "a", "b", "--node", "e", "--server", "http://127.0.0.1:9"]);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('unexpected argument "b"');
  });
});

describe("ctl logs options", () => {
  test("since, timestamps and previous travel in the request path", () => {
    expect(logsPath("echo", { node: "e", since: "5m", timestamps: true, previous: true })).toBe(
      "/logs/echo?node=e&worker=0&since=5m&timestamps=1&previous=1",
    );
  });

  test("a bad --since and --all with --node are usage errors (exit 2), before any request", async () => {
    const server = ["--server", "http://127.0.0.1:9"];
    const since = await runLevee(["ctl", "logs", "echo", "--node", "e", "--since", "yesterday", ...server]);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("--since");
    const all = await runLevee(["ctl", "logs", "echo", "--node", "e", "--all", ...server]);
    expect(all.code).toBe(2);
    expect(all.stderr).toContain("--all");
  });
});
