// JOURNAL_STREAM: parsed strictly, matched against the fd's device and inode, priorities per level.
import { describe, expect, test } from "bun:test";
import { closeSync, fstatSync, openSync } from "node:fs";
import { join } from "node:path";
import {
  fdIsJournal,
  matchesJournalStream,
  parseJournalStream,
  priorityPrefix,
} from "../../src/runtime/journal-stream.ts";
import { makeTempDir } from "../harness/cluster.ts";

describe("journal stream", () => {
  test("syslog priorities: error 3, warn 4, info 6, debug 7", () => {
    expect(["error", "warn", "info", "debug"].map((l) => priorityPrefix(l as "info"))).toEqual([
      "<3>",
      "<4>",
      "<6>",
      "<7>",
    ]);
  });

  test("JOURNAL_STREAM is <device>:<inode> in decimal, nothing else", () => {
    expect(parseJournalStream("8:12345")).toEqual({ dev: "8", ino: "12345" });
    expect(parseJournalStream("64769:18446744073709551615")).toEqual({
      dev: "64769",
      ino: "18446744073709551615",
    });
    for (const bad of [undefined, "", "8", "8:", ":1", "8:1:2", "a:b", "-1:2", "8 : 1"])
      expect(parseJournalStream(bad)).toBeUndefined();
  });

  test("matches only the same device and inode", () => {
    expect(matchesJournalStream("8:12345", { dev: 8n, ino: 12345n })).toBe(true);
    expect(matchesJournalStream("8:12345", { dev: 8, ino: 12345 })).toBe(true);
    expect(matchesJournalStream("8:12345", { dev: 9n, ino: 12345n })).toBe(false);
    expect(matchesJournalStream("8:12345", { dev: 8n, ino: 12346n })).toBe(false);
    expect(matchesJournalStream(undefined, { dev: 8n, ino: 12345n })).toBe(false);
  });

  test("an fd is the journal only when JOURNAL_STREAM names its file", () => {
    const dir = makeTempDir("levee-journal-");
    const fd = openSync(join(dir, "stderr"), "w");
    const other = openSync(join(dir, "other"), "w");
    try {
      const st = fstatSync(fd, { bigint: true });
      const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
      expect(fdIsJournal(fd, env)).toBe(true);
      expect(fdIsJournal(other, env)).toBe(false);
      expect(fdIsJournal(fd, {})).toBe(false);
      expect(fdIsJournal(9999, env)).toBe(false);
    } finally {
      closeSync(fd);
      closeSync(other);
    }
  });
});
