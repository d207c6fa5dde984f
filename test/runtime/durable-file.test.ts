// Durable file replacement: the content and the exact mode land under the final name, no temp
// file is left behind, and a failed write leaves the old file as it was and no temp file.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  replaceFileDurably,
  replaceFileDurablyAsync,
  writeFileDurably,
} from "../../src/runtime/durable-file.ts";
import { makeTempDir } from "../harness/cluster.ts";

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("writeFileDurably", () => {
  test("writes the content with its exact mode (whatever the umask); replaces; no temp left", () => {
    const dir = makeTempDir();
    const path = join(dir, "secret.env");
    const umask = process.umask(0o077);
    try {
      writeFileDurably(path, "A=1\n", { mode: 0o640 });
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(path, "utf8")).toBe("A=1\n");
    expect(modeOf(path)).toBe(0o640);
    writeFileDurably(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(modeOf(path)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["secret.env"]);
  });

  test("a failed write leaves the old file and removes the temp file", () => {
    const dir = makeTempDir();
    const path = join(dir, "unit");
    writeFileSync(path, "old");
    expect(() =>
      replaceFileDurably(path, (temp) => {
        writeFileSync(temp, "half");
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["unit"]);
    // The rename fails (a directory is in the way): the temp file goes too.
    const blocked = join(dir, "blocked");
    mkdirSync(join(blocked, "inside"), { recursive: true });
    expect(() => writeFileDurably(blocked, "x")).toThrow();
    expect(readdirSync(dir).sort()).toEqual(["blocked", "unit"]);
  });

  test("async: a given temp name; removed when the fill fails, renamed when it succeeds", async () => {
    const dir = makeTempDir();
    const path = join(dir, "backup.tar");
    const temp = `${path}.partial`;
    const failing = replaceFileDurablyAsync(
      path,
      async (t) => {
        writeFileSync(t, "part");
        await Bun.sleep(1);
        throw new Error("connection reset");
      },
      { temp },
    );
    await expect(failing).rejects.toThrow("connection reset");
    expect(readdirSync(dir)).toEqual([]);
    await replaceFileDurablyAsync(path, async (t) => writeFileSync(t, "whole", { mode: 0o644 }), { temp });
    expect(readFileSync(path, "utf8")).toBe("whole");
    expect(modeOf(path)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["backup.tar"]);
  });
});
