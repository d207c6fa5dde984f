// The `artifact` tunnel preamble and the serving node's answer line: round trips, and strict
// refusals of everything else (bad hashes, offsets with signs or leading zeros, extra words).
import { describe, expect, test } from "bun:test";
import { formatAnswer, parseAnswer } from "../../../src/mesh/transport/artifact-answer.ts";
import { formatPreamble, parsePreamble } from "../../../src/mesh/transport/preamble.ts";

const SHA = "ab".repeat(32);

describe("artifact preamble", () => {
  test("round trip", () => {
    const line = formatPreamble({ kind: "artifact", sha256: SHA, from: 1234 });
    expect(line).toBe(`LEVEE-TUNNEL/1 artifact=${SHA} range=1234-\n`);
    expect(parsePreamble(line.trimEnd())).toEqual({
      ok: true,
      preamble: { kind: "artifact", sha256: SHA, from: 1234 },
    });
    expect(parsePreamble(`LEVEE-TUNNEL/1 artifact=${SHA} range=0-`)).toMatchObject({ ok: true });
  });

  test("bad input is refused with a reason", () => {
    const bad = [
      `LEVEE-TUNNEL/1 artifact=${SHA}`,
      `LEVEE-TUNNEL/1 artifact=${SHA.toUpperCase()} range=0-`,
      `LEVEE-TUNNEL/1 artifact=${SHA.slice(1)} range=0-`,
      `LEVEE-TUNNEL/1 artifact=../${SHA.slice(3)} range=0-`,
      `LEVEE-TUNNEL/1 artifact=${SHA}.partial range=0-`,
      `LEVEE-TUNNEL/1 artifact=${SHA} range=01-`,
      `LEVEE-TUNNEL/1 artifact=${SHA} range=-5-`,
      `LEVEE-TUNNEL/1 artifact=${SHA} range=5-10`,
      `LEVEE-TUNNEL/1 artifact=${SHA} range=5`,
      `LEVEE-TUNNEL/1 artifact=${SHA} range=99999999999999999-`,
      `LEVEE-TUNNEL/1 artifact=${SHA} range=0- forwarded`,
      `LEVEE-TUNNEL/2 artifact=${SHA} range=0-`,
    ];
    for (const line of bad) {
      const parsed = parsePreamble(line);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
    }
    expect(() => formatPreamble({ kind: "artifact", sha256: "x", from: 0 })).toThrow(/sha256/);
    expect(() => formatPreamble({ kind: "artifact", sha256: SHA, from: -1 })).toThrow(/offset/);
    expect(() => formatPreamble({ kind: "artifact", sha256: SHA, from: 1.5 })).toThrow(/offset/);
  });
});

describe("artifact answer", () => {
  test("round trips", () => {
    for (const answer of [
      { kind: "ok", size: 0 },
      { kind: "ok", size: 123456789 },
      { kind: "unsatisfiable", size: 10 },
      { kind: "not-found" },
      { kind: "busy" },
    ] as const) {
      const line = formatAnswer(answer);
      expect(line.endsWith("\n")).toBe(true);
      expect(parseAnswer(line.trimEnd())).toEqual({ ok: true, answer });
    }
    expect(formatAnswer({ kind: "ok", size: 5 })).toBe("LEVEE-ARTIFACT/1 ok size=5\n");
  });

  test("bad input is refused", () => {
    for (const line of [
      "",
      "ok size=5",
      "LEVEE-ARTIFACT/2 ok size=5",
      "LEVEE-ARTIFACT/1 ok",
      "LEVEE-ARTIFACT/1 ok size=-1",
      "LEVEE-ARTIFACT/1 ok size=05",
      "LEVEE-ARTIFACT/1 ok size=1e3",
      "LEVEE-ARTIFACT/1 ok size=99999999999999999",
      "LEVEE-ARTIFACT/1 busy size=5",
      "LEVEE-ARTIFACT/1 ok size=5 more",
      "LEVEE-ARTIFACT/1 maybe",
    ])
      expect(parseAnswer(line).ok).toBe(false);
    expect(() => formatAnswer({ kind: "ok", size: -1 })).toThrow();
  });
});
