// Timed lines (a container's kept log, Docker's timestamps): since drops earlier lines exactly,
// the time is kept or taken off, lines cut between chunks are whole again, a line without a time
// passes; lastLines keeps the last N after a filter.
import { describe, expect, test } from "bun:test";
import { filterTimedLines, lastLines, lineTime } from "../../../../src/node/workers/logs/timed-lines.ts";
import { collect } from "./collect.ts";

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

const LOG = [
  "2026-05-01T10:00:00.100000000Z one\n2026-05-01T10:00:0",
  "1.500000000Z two\nno time here\n",
  "2026-05-01T10:00:02.000000001Z three",
];

describe("timed lines", () => {
  test("lineTime reads Docker's nanosecond RFC 3339 time", () => {
    expect(lineTime(Buffer.from("2026-05-01T10:00:00.123456789Z x\n"))).toBe(
      Date.UTC(2026, 4, 1, 10, 0, 0, 123),
    );
    expect(Number.isNaN(lineTime(Buffer.from("plain line\n")))).toBe(true);
  });

  test("the times are taken off, or kept; a last line without a newline is kept", async () => {
    expect(await collect(filterTimedLines(chunks(...LOG), {}))).toBe("one\ntwo\nno time here\nthree");
    expect(await collect(filterTimedLines(chunks(...LOG), { timestamps: true }))).toBe(LOG.join(""));
  });

  test("since drops the lines before it, to the millisecond", async () => {
    const since = new Date("2026-05-01T10:00:01.500Z");
    expect(await collect(filterTimedLines(chunks(...LOG), { since }))).toBe("two\nno time here\nthree");
    const later = new Date("2026-05-01T10:00:01.501Z");
    expect(await collect(filterTimedLines(chunks(...LOG), { since: later }))).toBe("no time here\nthree");
  });

  test("lastLines keeps the last N lines, all when undefined", async () => {
    expect(await collect(lastLines(chunks("a\nb", "\nc\n"), 2))).toBe("b\nc\n");
    expect(await collect(lastLines(chunks("a\nb", "\nc"), 1))).toBe("c");
    expect(await collect(lastLines(chunks("a\nb\n"), undefined))).toBe("a\nb\n");
    expect(await collect(lastLines(chunks("a\n"), 0))).toBe("");
  });
});
