// The line stamper puts one prefix before every line, however the bytes are cut into chunks.
import { describe, expect, test } from "bun:test";
import { LineStamper, timePrefix } from "../../../../src/node/workers/logs/line-stamper.ts";

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("LineStamper", () => {
  test("every line gets the prefix, a line cut between chunks only once", () => {
    const stamper = new LineStamper();
    const out = [
      stamper.stamp(Buffer.from("one\ntw"), "A "),
      stamper.stamp(Buffer.from("o\n"), "B "),
      stamper.stamp(Buffer.from("three\nfour\n"), "C "),
      stamper.stamp(Buffer.from(""), "D "),
    ].map(text);
    expect(out.join("")).toBe("A one\nA two\nC three\nC four\n");
  });

  test("the time prefix is RFC 3339 in UTC and a space", () => {
    expect(timePrefix(new Date(Date.UTC(2026, 4, 1, 10, 0, 0, 5)))).toBe("2026-05-01T10:00:00.005Z ");
  });
});
