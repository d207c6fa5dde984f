// The upgrade's shared files: agent.log is appended to, and rotated to agent.log.1 when it is
// over its cap at open time.
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { UpgradeFiles } from "../../../src/node/upgrade/upgrade-files.ts";
import { makeTempDir } from "../../harness/cluster.ts";

function append(files: UpgradeFiles, text: string, maxBytes: number): void {
  const fd = files.openAgentLog(maxBytes);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

describe("agent.log", () => {
  test("appended while under the cap; past it, it becomes agent.log.1 (replacing the older) and starts anew", () => {
    const files = new UpgradeFiles(makeTempDir());
    const log = files.path("agent.log");
    append(files, "a".repeat(60), 100);
    append(files, "b".repeat(30), 100);
    expect(readFileSync(log, "utf8")).toBe(`${"a".repeat(60)}${"b".repeat(30)}`);
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(existsSync(`${log}.1`)).toBe(false);

    append(files, "c".repeat(20), 100); // 90 bytes at open: still under
    append(files, "d", 100); // 110 at open: rotated
    expect(readFileSync(`${log}.1`, "utf8")).toBe(`${"a".repeat(60)}${"b".repeat(30)}${"c".repeat(20)}`);
    expect(readFileSync(log, "utf8")).toBe("d");

    writeFileSync(log, "e".repeat(101));
    append(files, "f", 100);
    expect(readFileSync(`${log}.1`, "utf8")).toBe("e".repeat(101));
    expect(readFileSync(log, "utf8")).toBe("f");
  });

  test("the default cap is 4 MiB; the directory is made when missing", () => {
    const files = new UpgradeFiles(makeTempDir());
    const log = files.path("agent.log");
    append(files, "x", 100); // no upgrade/ directory yet: made
    writeFileSync(log, Buffer.alloc(4 * 1024 * 1024, 1));
    closeSync(files.openAgentLog());
    expect(existsSync(`${log}.1`)).toBe(false);
    writeFileSync(log, Buffer.alloc(4 * 1024 * 1024 + 1, 1));
    closeSync(files.openAgentLog());
    expect(statSync(`${log}.1`).size).toBe(4 * 1024 * 1024 + 1);
    expect(statSync(log).size).toBe(0);
  });
});
